"""Run Deepnote notebooks from Slack."""

__version__ = "0.1.0"
