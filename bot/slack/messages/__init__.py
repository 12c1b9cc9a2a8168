"""Slack messages the bot sends, as pure functions from records to Block Kit.

Every function returns a `Message` within Slack's limits (see `blocks`), and every string
that came from a user or a notebook goes through `bot.text.mrkdwn` first. One module a kind
of message: `cards` (the run card, status), `results` (the reply when a run ends), `inputs`,
`help` (help, errors, notes) and `schedules`; `blocks` holds the Block Kit builders.
"""
