"""Tests of bot/runs."""
