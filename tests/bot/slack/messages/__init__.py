"""Tests for bot/slack/messages: every message is valid Block Kit within Slack's limits."""
