"""Tests for bot/deepnote."""
