"""Text every layer uses: mrkdwn escaping (so untrusted text stays inert in Slack) and the
shell-like tokenizer and quoting of the command language."""
