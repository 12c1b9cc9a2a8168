"""The performance benchmark: `python -m bench.run [--quick] [--json PATH]` (see bench/README.md).

It is not part of the test suite: it runs the real bot in its own process, on the real clock,
against the project's fake Slack and fake Deepnote, and reports latencies and costs.
"""
