"""A small synchronous client for Deepnote's public API v2.

Every dependency is a constructor keyword: the httpx transport is the test seam, `sleep` is
injected so retries cost no real time in tests, and `on_call` reports each HTTP attempt.

Retry policy, following Deepnote's own client:
- reads (GET) retry 429, 5xx and transport failures with backoff
  `min(backoff_base * 2**n, backoff_cap)`, or the server's `Retry-After` (capped) when sent;
- POST /v2/runs is retried only when the request cannot have reached Deepnote (the connection
  was never made) or on 429; a timeout or reset after sending raises `DeepnoteCreateUncertain`,
  because the run may have started. It is never retried on 5xx.

The API key is sent only in the Authorization header, only to the API's own origin, and never
appears in an exception, a log line or a repr.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import quote

import httpx

from bot import __version__, errors
from bot.deepnote import parse
from bot.deepnote.models import (
    Notebook,
    NotebookBlock,
    Project,
    Run,
    RunCreated,
    RunRequest,
    RunSummary,
)
from bot.ratelimit import RequestBudget

logger = logging.getLogger(__name__)

USER_AGENT = f"deepnote-slack-bot/{__version__}"

OnCall = Callable[[str, int | None, float], None]
"""Observability hook: (endpoint label, HTTP status or None on transport failure, seconds)."""

# How long a background request may wait for a slot of the budget (see `_spend`).
BACKGROUND_WAIT_SECONDS = 0.25
# Failures that happen before any byte of the request can have reached the server.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Transport failures that retrying cannot fix (bad URL scheme, a header we refuse to send...).
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)

_DEFAULT_PORTS = {"http": 80, "https": 443}

# The 4xx answers that each have an error of their own (429 carries Retry-After: see below).
_CLIENT_ERRORS: dict[int, type[errors.DeepnoteError]] = {
    400: errors.DeepnoteBadRequest,
    401: errors.DeepnoteAuthError,
    403: errors.DeepnoteForbidden,
    404: errors.DeepnoteNotFound,
    409: errors.DeepnoteConflict,
}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs tens of ms for every new client."""
    return httpx.create_ssl_context()


def _retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds, when it is a number."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if seconds == seconds else None


class DeepnoteClient:
    """Deepnote API v2 over httpx, with typed errors and a careful retry policy."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_call: OnCall | None = None,
        budget: RequestBudget | None = None,
        before_call: Callable[[], object] | None = None,
        observers: Sequence[OnCall] = (),
    ) -> None:
        if not api_key or not api_key.isascii() or not api_key.isprintable() or " " in api_key:
            # httpx would echo an unsendable header value in its error: refuse it here instead.
            raise ValueError("The Deepnote API key is empty or has characters a header cannot hold")
        self._api_key = api_key
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        self._retries = max(retries, 0)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._on_call = on_call
        self._observers: list[OnCall] = list(observers)
        self.budget = budget
        # Called before every request goes out (the bot waits there while Slack's requests
        # are being answered: bot/web/foreground.py).
        self.before_call = before_call
        self._transport = transport
        self._timeout = timeout
        self._local = threading.local()
        self._http = httpx.Client(
            base_url=self._base,
            transport=transport,
            verify=_tls_context() if transport is None else True,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            # The budget's token is taken here, just before the request goes on the wire, so
            # that where Deepnote counts the requests they fit the budget's window.
            event_hooks={"request": [self._before_send]},
        )

    def __repr__(self) -> str:
        return f"DeepnoteClient(base_url={str(self._base)!r})"

    def __enter__(self) -> DeepnoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def with_hooks(
        self,
        *,
        budget: RequestBudget | None,
        before_call: Callable[[], object] | None,
        observers: Sequence[OnCall] = (),
    ) -> DeepnoteClient:
        """A new client with this one's settings and observers, and these hooks as well.

        The bot builds its own client from one it is given (tests give theirs), so that its
        budget, its wait for Slack's requests and its health observer are constructor keywords.
        """
        return DeepnoteClient(
            base_url=str(self._base),
            api_key=self._api_key,
            transport=self._transport,
            timeout=self._timeout,
            retries=self._retries,
            backoff_base=self._backoff_base,
            backoff_cap=self._backoff_cap,
            sleep=self._sleep,
            on_call=self._on_call,
            budget=budget,
            before_call=before_call,
            observers=[*self._observers, *observers],
        )

    # -- endpoints -------------------------------------------------------------------------

    def create_run(self, req: RunRequest) -> RunCreated:
        """POST /v2/runs: start a run; never retried once the request may have been sent."""
        content = self._call("POST", "v2/runs", label="POST /v2/runs", json=req.to_body())
        try:
            return parse.parse_run_created(parse.read_json(content))
        except errors.DeepnoteUnavailable as exc:
            # A 2xx came back, so a run most likely started; retrying could start a second one.
            raise errors.DeepnoteCreateUncertain(exc.message) from None

    def get_run(
        self,
        run_id: str,
        *,
        snapshot_delivery: Literal["inline", "downloadUrl"] | None = None,
        retries: int | None = None,
    ) -> Run:
        """GET /v2/runs/{runId}: the run's status, error and snapshot (URL or inline YAML)."""
        params: dict[str, str] | None = (
            {"snapshotDelivery": snapshot_delivery} if snapshot_delivery else None
        )
        content = self._call(
            "GET",
            f"v2/runs/{_segment(run_id)}",
            label="GET /v2/runs/{runId}",
            params=params,
            retries=retries,
        )
        return parse.parse_run(parse.read_json(content))

    def get_notebook(self, notebook_id: str, *, retries: int | None = None) -> Notebook:
        """GET /v2/notebooks/{notebookId}: name, blocks and inputs."""
        content = self._call(
            "GET",
            f"v2/notebooks/{_segment(notebook_id)}",
            label="GET /v2/notebooks/{notebookId}",
            retries=retries,
        )
        return parse.parse_notebook(parse.read_json(content), notebook_id=notebook_id)

    def list_notebook_runs(
        self, notebook_id: str, *, page_size: int = 50, retries: int | None = None
    ) -> list[RunSummary]:
        """GET /v2/notebooks/{notebookId}/runs: the newest `page_size` runs, newest first."""
        runs, _next = self.list_notebook_runs_page(
            notebook_id, page_size=page_size, retries=retries
        )
        return runs

    def list_notebook_runs_page(
        self,
        notebook_id: str,
        *,
        page_size: int = 100,
        page_token: str | None = None,
        retries: int | None = None,
    ) -> tuple[list[RunSummary], str | None]:
        """One page of a notebook's runs, newest first, and the token of the next page."""
        params = {"pageSize": str(page_size)}
        if page_token:
            params["pageToken"] = page_token
        content = self._call(
            "GET",
            f"v2/notebooks/{_segment(notebook_id)}/runs",
            label="GET /v2/notebooks/{notebookId}/runs",
            params=params,
            retries=retries,
        )
        return parse.parse_runs_page(parse.read_json(content))

    def list_projects_page(
        self,
        *,
        page_size: int = 100,
        page_token: str | None = None,
        name_contains: str | None = None,
        retries: int | None = None,
    ) -> tuple[list[Project], str | None]:
        """GET /v2/projects: one page of the projects the key can see, with their notebooks,
        and the token of the next page (`name_contains` filters on project names only)."""
        params = {"pageSize": str(page_size)}
        if page_token:
            params["pageToken"] = page_token
        if name_contains:
            params["nameContains"] = name_contains
        content = self._call(
            "GET", "v2/projects", label="GET /v2/projects", params=params, retries=retries
        )
        return parse.parse_projects_page(parse.read_json(content))

    def get_block(self, block_id: str, *, retries: int | None = None) -> NotebookBlock:
        """GET /v2/blocks/{blockId}: one block with its metadata."""
        content = self._call(
            "GET",
            f"v2/blocks/{_segment(block_id)}",
            label="GET /v2/blocks/{blockId}",
            retries=retries,
        )
        return parse.parse_block_answer(parse.read_json(content))

    def me(self, *, retries: int | None = None) -> dict[str, Any]:
        """GET /v2/me: the key's user, workspace and access level (checks the key works)."""
        content = self._call("GET", "v2/me", label="GET /v2/me", retries=retries)
        return parse.parse_object(parse.read_json(content), "the answer to /v2/me")

    def fetch_snapshot(self, run: Run) -> str | None:
        """The run's snapshot YAML: inline content, else downloaded; None when there is none.

        The bearer token goes only to the API's own origin; a presigned URL elsewhere is
        fetched without it. An expired presigned URL raises DeepnoteForbidden: fetch the run
        again for a fresh one.
        """
        if run.snapshot_content is not None:
            return run.snapshot_content
        if not run.snapshot_url:
            return None
        try:
            url = self._base.join(run.snapshot_url)
        except httpx.InvalidURL:
            raise parse.unreadable("the snapshot URL is not a URL") from None
        content = self._call(
            "GET",
            url,
            label="GET snapshot",
            auth=_origin(url) == _origin(self._base),
            follow_redirects=True,
        )
        return content.decode("utf-8", errors="replace")

    # -- machinery -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        label: str,
        retries: int | None = None,
        params: dict[str, str] | None = None,
        json: Any = None,
        auth: bool = True,
        follow_redirects: bool = False,
    ) -> bytes:
        """One logical call with retries; returns the 2xx body or raises a DeepnoteError.

        `retries` is the client's own count unless a caller gives another."""
        retries = self._retries if retries is None else retries
        is_create = method == "POST"
        headers = {"Authorization": f"Bearer {self._api_key}"} if auth else {}
        attempt = 0
        while True:
            if self.before_call is not None:
                self.before_call()
            self._local.sent_at = time.monotonic()  # the request hook sets it again
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    follow_redirects=follow_redirects,
                )
            except httpx.TransportError as exc:
                self._observe(label, None, time.monotonic() - self._local.sent_at)
                error = self._transport_error(label, exc, is_create)
                retryable = not isinstance(exc, _PERMANENT) and (
                    not is_create or isinstance(exc, _NEVER_SENT)
                )
                if retryable and attempt < retries:
                    self._wait(label, attempt, retries, None, error.message)
                    attempt += 1
                    continue
                raise error from None
            # From when it went out (after any wait for the budget) to the answer.
            self._observe(label, response.status_code, time.monotonic() - self._local.sent_at)
            if response.is_success:
                return response.content
            error = self._status_error(label, response)
            retryable = response.status_code == 429 or (
                response.status_code >= 500 and not is_create
            )
            if retryable and attempt < retries:
                self._wait(label, attempt, retries, _retry_after(response), error.message)
                attempt += 1
                continue
            raise error

    def _wait(
        self, label: str, attempt: int, retries: int, retry_after: float | None, why: str
    ) -> None:
        backoff = min(self._backoff_base * 2**attempt, self._backoff_cap)
        delay = min(retry_after, self._backoff_cap) if retry_after is not None else backoff
        logger.warning(
            "Deepnote %s failed (%s); retry %d of %d in %.2f s",
            label,
            self._redact(why),
            attempt + 1,
            retries,
            delay,
        )
        self._sleep(delay)

    @contextmanager
    def background(self) -> Iterator[None]:
        """Within this block, calls from this thread never wait for the request budget:
        they raise BudgetExhausted when no token is free (people's commands come first)."""
        previous = getattr(self._local, "background", False)
        self._local.background = True
        try:
            yield
        finally:
            self._local.background = previous

    def _before_send(self, request: httpx.Request) -> None:
        """httpx's request hook: requests carrying the API key spend the budget (see `_spend`)."""
        if "authorization" in request.headers:
            self._spend()
        self._local.sent_at = time.monotonic()

    def _spend(self) -> None:
        """Take one token of the request budget (see `background`)."""
        if self.budget is None:
            return
        if getattr(self._local, "background", False):
            # A round's requests come in a burst; the previous round's burst leaves the window
            # (a little over a second) a few hundredths of a second after this round begins,
            # so waiting that long uses the whole rate instead of every other round's share.
            if not self.budget.try_take(reserve=1.0, max_wait=BACKGROUND_WAIT_SECONDS):
                raise errors.BudgetExhausted("no Deepnote request budget left this round")
            return
        try:
            self.budget.take(max_wait=10.0)
        except errors.BudgetExhausted:
            raise errors.DeepnoteRateLimited(
                "The bot is already sending Deepnote all the requests it may. "
                "Try again in a minute."
            ) from None

    def add_observer(self, hook: OnCall) -> None:
        """Also call `hook(endpoint, status, seconds)` after every HTTP attempt."""
        self._observers.append(hook)

    def _observe(self, label: str, status: int | None, seconds: float) -> None:
        hooks = ([self._on_call] if self._on_call is not None else []) + self._observers
        for hook in hooks:
            try:
                hook(label, status, seconds)
            except Exception:
                # A broken metrics hook must not turn a good Deepnote answer into a failure.
                logger.exception("on_call hook failed for %s", label)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")

    def _transport_error(
        self, label: str, exc: httpx.TransportError, is_create: bool
    ) -> errors.DeepnoteError:
        detail = self._redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
        if is_create and not isinstance(exc, _NEVER_SENT + _PERMANENT):
            return errors.DeepnoteCreateUncertain(
                f"Deepnote did not answer {label} ({detail}); the run may have started"
            )
        return errors.DeepnoteUnavailable(
            f"Deepnote could not be reached for {label} ({detail})",
            retryable=not isinstance(exc, _PERMANENT),
        )

    def _status_error(self, label: str, response: httpx.Response) -> errors.DeepnoteError:
        status = response.status_code
        message = parse.parse_error_message(response.content)
        if message is None:
            reason = response.reason_phrase or "error"
            message = f"Deepnote answered {label} with HTTP {status} {reason} and no explanation."
        message = self._redact(message)
        if status in _CLIENT_ERRORS:
            return _CLIENT_ERRORS[status](message, status=status)
        if status == 429:
            return errors.DeepnoteRateLimited(message, retry_after=_retry_after(response))
        if status >= 500:
            return errors.DeepnoteServerError(message, status=status, retryable=True)
        if 400 <= status < 500:
            return errors.DeepnoteError(message, status=status)
        return errors.DeepnoteUnavailable(
            f"{parse.UNREADABLE}: unexpected HTTP {status} for {label}", status=status
        )


def _segment(value: str) -> str:
    """Quote an id for use as one path segment, so it can never change the path."""
    return quote(value, safe="")
