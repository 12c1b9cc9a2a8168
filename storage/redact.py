"""Database URLs with their password hidden, for every message, log line and error.

>>> redact_url("postgres://bot:s3cret@db.example:5432/bot")
'postgres://bot:***@db.example:5432/bot'
>>> redact_url("could not connect: password=s3cret host=db", "host=db password=s3cret")
'could not connect: password=*** host=db'
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s]*@", re.IGNORECASE)
_KEYWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def url_password(url: str) -> str | None:
    """The password inside a connection URL (or `password=` keyword), if any."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        return unquote(password)
    found = _KEYWORD.search(url)
    return found.group(2).strip("'") if found else None


def redact_url(text: str, url: str | None = None) -> str:
    """`text` with every URL's password, `password=` value and `url`'s password hidden."""
    text = _IN_URL.sub(r"\g<head>***@", text)
    text = _KEYWORD.sub(r"\g<1>***", text)
    password = url_password(url) if url else None
    if password:
        text = text.replace(password, "***")
    return text
