"""Tests for bot/commands."""
