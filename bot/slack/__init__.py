"""Slack: the Web API gateway, mrkdwn escaping and the Block Kit messages the bot sends."""
