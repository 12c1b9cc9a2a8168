"""Developer tooling that plays Slack and Deepnote locally: the console, the terminal view,
the Deepnote API simulator and the Slack stand-in.

The runtime never imports this package; the CLI imports it lazily, and tests and the
benchmark use it directly.
"""
