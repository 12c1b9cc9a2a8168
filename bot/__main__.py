"""`python -m bot` runs the `deepnote-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
