"""The HTTP front and the foreground/background split that keeps acknowledgements fast."""
