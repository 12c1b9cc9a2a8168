"""Unit tests of the runtime, one folder per package of `bot/`."""
