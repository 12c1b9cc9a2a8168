"""Tests for bot/text."""
