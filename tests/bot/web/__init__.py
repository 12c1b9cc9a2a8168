"""Tests for bot/web."""
