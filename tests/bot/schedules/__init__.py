"""Tests for bot/schedules."""
