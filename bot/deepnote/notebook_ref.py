"""Notebook references: ids, dashed UUIDs and Deepnote links, read from what people paste.

>>> parse_notebook_ref("https://deepnote.com/project/p/notebook/Report-0123456789ABCDEF0123456789abcdef")
'0123456789abcdef0123456789abcdef'
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from bot.errors import UserError
from bot.text.mrkdwn import code

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A notebook path segment: `<32hex>` or `Name-<32hex>` (the name may hold dashes itself).
_NOTEBOOK_SEGMENT = re.compile(r"(?:.*-)?([0-9a-fA-F]{32})")
# Slack wraps links as `<url>` or `<url|label>`.
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|[^<>]*)?>")
_MAX_SHOWN = 80


class UnknownNotebookRef(UserError):
    """Not a notebook id, UUID or Deepnote notebook link (it may still be an alias or a name)."""

    def __init__(self, text: str, message: str | None = None, *, link: bool = False) -> None:
        self.text = text
        self.link = link
        """True when `text` is a Deepnote link that points to no notebook (not a name)."""
        shown = _shown(text)
        super().__init__(
            message or f"{shown} is not a notebook id or a Deepnote notebook link.",
            hint=(
                "Paste the notebook's link from your browser (it ends in "
                "`/notebook/Name-&lt;32 characters&gt;`), or its 32-character id, "
                "e.g. `0123456789abcdef0123456789abcdef`."
            ),
        )


def _shown(text: str) -> str:
    """The text as a short, inert Slack code span."""
    flat = " ".join(text.split())
    return code(flat, limit=_MAX_SHOWN) if flat else "(nothing)"


def is_notebook_id(s: str) -> bool:
    """True when `s` is a notebook id: exactly 32 hex characters (any case).

    >>> is_notebook_id("0123456789ABCDEF0123456789abcdef"), is_notebook_id("report")
    (True, False)
    """
    return _HEX32.fullmatch(s) is not None


def _is_deepnote_host(host: str) -> bool:
    return host == "deepnote.com" or host.endswith(".deepnote.com")


def _from_url(text: str) -> str | None:
    """The notebook id in a Deepnote link, or None when there is none."""
    candidate = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _is_deepnote_host(host):
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for index, segment in enumerate(segments[:-1]):
        if segment.lower() == "notebook":
            match = _NOTEBOOK_SEGMENT.fullmatch(segments[index + 1])
            if match:
                return match.group(1).lower()
    return None


def parse_notebook_ref(text: str) -> str:
    """The notebook id (32 lowercase hex) named by an id, a dashed UUID or a Deepnote link.

    Raises `UnknownNotebookRef` for anything else, so callers can go on to try aliases and names.

    >>> parse_notebook_ref("<https://deepnote.com/project/x/notebook/0123456789abcdef0123456789abcdef|link>")
    '0123456789abcdef0123456789abcdef'
    >>> parse_notebook_ref("01234567-89AB-CDEF-0123-456789abcdef")
    '0123456789abcdef0123456789abcdef'
    """
    ref = text.strip()
    link = _SLACK_LINK.fullmatch(ref)
    if link:
        ref = link.group(1).strip()
    if is_notebook_id(ref):
        return ref.lower()
    if _UUID.fullmatch(ref):
        return ref.replace("-", "").lower()
    lowered = ref.lower()
    if lowered.startswith(("http://", "https://")) or "deepnote.com" in lowered.split("/")[0]:
        notebook_id = _from_url(ref)
        if notebook_id:
            return notebook_id
        if _is_deepnote_host((_host(ref) or "").lower()):
            raise UnknownNotebookRef(
                text,
                f"The link {_shown(ref)} does not point to a notebook.",
                link=True,
            )
    raise UnknownNotebookRef(text)


def _host(text: str) -> str | None:
    candidate = text if "://" in text else "https://" + text
    try:
        return urlsplit(candidate).hostname
    except ValueError:
        return None


def notebook_url(
    notebook_id: str,
    project_id: str | None = None,
    workspace_slug: str | None = None,
    workspace_id: str | None = None,
    app_url: str = "https://deepnote.com",
    *,
    runs: bool = False,
) -> str | None:
    """The browser link to a notebook, or None when its project is unknown (no such page exists).

    With the workspace slug and id it is the full link; with the project alone, the fallback link.
    `runs=True` opens the notebook's runs list.

    >>> notebook_url("ab" * 16, "p-1", "acme", "w1")
    'https://deepnote.com/workspace/acme-w1/project/-p-1/notebook/abababababababababababababababab'
    >>> notebook_url("ab" * 16, "p-1")
    'https://deepnote.com/project/p-1/notebook/abababababababababababababababab'
    >>> notebook_url("ab" * 16) is None
    True
    """
    if not project_id:
        return None
    base = app_url.rstrip("/")
    nb = quote(notebook_id, safe="")
    project = quote(project_id, safe="")
    if workspace_slug and workspace_id:
        workspace = quote(f"{workspace_slug}-{workspace_id}", safe="")
        url = f"{base}/workspace/{workspace}/project/-{project}/notebook/{nb}"
    else:
        url = f"{base}/project/{project}/notebook/{nb}"
    return url + "?secondary-sidebar=runs" if runs else url
