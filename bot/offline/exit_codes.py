"""The exit codes of `deepnote-bot console`, with what each means: `console --help` and the
README list them from here (tests/docs checks that they agree).

>>> [code for code, _ in EXIT_CODES]
[0, 1, 2, 3, 130]
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_REFUSED = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (
        EXIT_OK,
        "the command was answered and every run it started succeeded (a command that starts "
        "no run, e.g. schedule or pause, exits as soon as it is answered); an interactive "
        "session that ends with exit or Ctrl-D",
    ),
    (
        EXIT_RUN_FAILED,
        "a run the command started failed, was stopped or was lost (also when whoever reads "
        "the output stops early, e.g. `head`)",
    ),
    (
        EXIT_REFUSED,
        "the bot refused the command or the form (its reply says why), or the console could "
        "not start (a bad option or --notebooks folder)",
    ),
    (
        EXIT_TIMEOUT,
        "--timeout passed before the outcome (the bot did not answer, or a run did not finish)",
    ),
    (EXIT_INTERRUPTED, "interrupted by Ctrl-C or SIGTERM"),
)
