"""Tests for bot/deepnote/snapshot: the real reference files, failure reasons, key results."""
