"""End to end: the real bot (in-process or `deepnote-bot serve`) against the simulator and
the Slack stand-in, driven by signed requests."""
