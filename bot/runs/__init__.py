"""Runs: starting them, following them in Deepnote, and delivering their messages to Slack."""
