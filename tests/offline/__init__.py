"""The developer tooling in `bot/offline/`: console, simulator, Slack stand-in."""
