"""DeepnoteClient against the simulator over real HTTP (the parser's table tests: test_parse.py)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot import errors
from bot.clock import ManualClock
from bot.deepnote.client import USER_AGENT, DeepnoteClient
from bot.deepnote.models import Run, RunRequest
from bot.offline.simulator import (
    HELLO_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    Simulator,
)
from bot.ratelimit import RequestBudget

KEY = "dn-test-key-0f3a9c71e2b84d56SECRET"
VIEWER_KEY = "dn-viewer-key-77aa01SECRET"
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Simulator]:
    with Simulator(api_key=KEY, clock=clock, viewer_api_key=VIEWER_KEY) as simulator:
        yield simulator


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def calls() -> list[tuple[str, int | None, float]]:
    return []


@pytest.fixture
def client(
    sim: Simulator, sleeps: list[float], calls: list[tuple[str, int | None, float]]
) -> Iterator[DeepnoteClient]:
    with DeepnoteClient(
        base_url=sim.url,
        api_key=KEY,
        sleep=sleeps.append,
        on_call=lambda label, status, seconds: calls.append((label, status, seconds)),
        timeout=5.0,
    ) as deepnote:
        yield deepnote


def _client(url: str, sleeps: list[float], **kwargs: Any) -> DeepnoteClient:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("timeout", 5.0)
    return DeepnoteClient(base_url=url, sleep=sleeps.append, **kwargs)


def _posts(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.method == "POST" and r.path == "/v2/runs")


# -- happy paths ---------------------------------------------------------------------------


def test_a_run_is_followed_from_pending_to_success(
    client: DeepnoteClient, clock: ManualClock, calls: list[tuple[str, int | None, float]]
) -> None:
    created = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))
    assert created.status == "pending"
    assert created.created_at == START

    assert client.get_run(created.run_id).status == "pending"
    clock.advance(seconds=1)
    assert client.get_run(created.run_id).completed_at is None
    clock.advance(seconds=2)
    run = client.get_run(created.run_id)

    assert (run.status, run.finished, run.error) == ("success", True, None)
    assert run.notebook_id == HELLO_NOTEBOOK_ID
    assert run.completed_at == START + timedelta(seconds=3)
    assert "Hello world!" in (client.fetch_snapshot(run) or "")
    assert [label for label, _, _ in calls] == [
        "POST /v2/runs",
        "GET /v2/runs/{runId}",
        "GET /v2/runs/{runId}",
        "GET /v2/runs/{runId}",
        "GET snapshot",
    ]
    assert all(status in (200, 202) and seconds >= 0 for _, status, seconds in calls)


def test_the_body_follows_the_detached_and_block_rules(
    client: DeepnoteClient, sim: Simulator
) -> None:
    client.create_run(
        RunRequest(SALES_NOTEBOOK_ID, {"region": "Mars", "top_n": "3"}, readonly=True)
    )
    client.create_run(
        RunRequest(SALES_NOTEBOOK_ID, block_ids=("170bea8ce1ba05e2deb1ca1cda097a2f",))
    )

    bodies = [r.body for r in sim.requests if r.method == "POST"]
    assert bodies == [
        {
            "notebookId": SALES_NOTEBOOK_ID,
            "detached": True,
            "detachedRunStorageMode": "readonly",
            "inputs": {"region": "Mars", "top_n": "3"},
        },
        {
            "notebookId": SALES_NOTEBOOK_ID,
            "detached": False,
            "blockIds": ["170bea8ce1ba05e2deb1ca1cda097a2f"],
        },
    ]


def test_get_notebook_reads_every_input_type(client: DeepnoteClient) -> None:
    notebook = client.get_notebook(SALES_NOTEBOOK_ID)

    assert notebook.name == "Sales report"
    assert notebook.project_id == "a654d97d-2831-4682-b07f-a10d8b44563c"
    assert {i.name: i.type for i in notebook.inputs} == {
        "report_title": "input-text",
        "notes": "input-textarea",
        "include_returns": "input-checkbox",
        "region": "input-select",
        "channels": "input-select",
        "top_n": "input-slider",
        "as_of": "input-date",
        "period": "input-date-range",
        "price_list": "input-file",
    }
    region, channels, top_n = (notebook.input_named(n) for n in ("region", "channels", "top_n"))
    assert region is not None
    assert region.options == (
        "Europe",
        "North America",
        "Asia Pacific",
        "Mars",
    )
    assert channels is not None
    assert channels.multiple
    assert channels.value == ["Online", "Retail"]
    assert top_n is not None
    assert (top_n.value, top_n.min, top_n.max, top_n.step) == ("5", 1, 10, 1)
    assert notebook.blocks[0].type == "text-cell-h1"


def test_list_notebook_runs_is_newest_first(client: DeepnoteClient, clock: ManualClock) -> None:
    first = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))
    clock.advance(seconds=5)
    second = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    runs = client.list_notebook_runs(HELLO_NOTEBOOK_ID, page_size=10)

    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert [r.status for r in runs] == ["pending", "success"]


def test_me_and_user_agent(client: DeepnoteClient, sim: Simulator) -> None:
    assert client.me()["workspace"]["slug"] == "simulated-workspace"
    assert sim.requests[-1].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("deepnote-slack-bot/")


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, errors.DeepnoteBadRequest),
        (401, errors.DeepnoteAuthError),
        (403, errors.DeepnoteForbidden),
        (404, errors.DeepnoteNotFound),
        (409, errors.DeepnoteConflict),
        (422, errors.DeepnoteError),
        (429, errors.DeepnoteRateLimited),
        (500, errors.DeepnoteServerError),
        (503, errors.DeepnoteServerError),
    ],
)
def test_each_status_becomes_its_typed_error_with_deepnotes_message(
    client: DeepnoteClient, sim: Simulator, status: int, error_type: type[errors.DeepnoteError]
) -> None:
    sim.inject("GET", "/v2/notebooks/", status=status, message=f"Deepnote says {status}")

    with pytest.raises(error_type) as caught:
        client.get_notebook(SALES_NOTEBOOK_ID, retries=0)

    assert type(caught.value) is error_type
    assert caught.value.message == f"Deepnote says {status}"
    assert caught.value.status == status


def test_real_refusals_carry_the_simulators_messages(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    with pytest.raises(errors.DeepnoteNotFound, match="Notebook not found"):
        client.get_notebook("0" * 32)
    with pytest.raises(errors.DeepnoteBadRequest, match='has no option "Venus"'):
        client.create_run(RunRequest(SALES_NOTEBOOK_ID, {"region": "Venus"}))
    with pytest.raises(errors.DeepnoteBadRequest, match="numeric string"):
        client.create_run(RunRequest(SALES_NOTEBOOK_ID, {"top_n": 7}))  # type: ignore[dict-item]
    with (
        _client(sim.url, sleeps, api_key=VIEWER_KEY) as viewer,
        pytest.raises(errors.DeepnoteForbidden, match="does not allow running"),
    ):
        viewer.create_run(RunRequest(HELLO_NOTEBOOK_ID))
    with (
        _client(sim.url, sleeps, api_key="not-the-key") as stranger,
        pytest.raises(errors.DeepnoteAuthError, match="Invalid API key"),
    ):
        stranger.me()
    run = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))
    sim.suspend_project()
    with pytest.raises(errors.DeepnoteConflict, match="Project is suspended"):
        client.get_run(run.run_id)
    assert sleeps == []


def test_an_error_without_a_json_message_names_the_status(
    client: DeepnoteClient, sim: Simulator
) -> None:
    sim.inject("GET", "/v2/notebooks/", status=502, malformed=True)

    with pytest.raises(errors.DeepnoteServerError) as caught:
        client.get_notebook(SALES_NOTEBOOK_ID, retries=0)

    assert "HTTP 502" in caught.value.message


def test_a_success_that_is_not_json_is_unavailable(client: DeepnoteClient, sim: Simulator) -> None:
    sim.inject("GET", "/v2/notebooks/", status=200, malformed=True)

    with pytest.raises(
        errors.DeepnoteUnavailable, match=r"^Deepnote sent an answer the bot could not read"
    ):
        client.get_notebook(SALES_NOTEBOOK_ID)


# -- retries -------------------------------------------------------------------------------


def test_reads_retry_5xx_with_exponential_backoff(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("GET", "/v2/notebooks/", status=503, times=3)

    assert client.get_notebook(SALES_NOTEBOOK_ID).name == "Sales report"
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped(sim: Simulator, sleeps: list[float]) -> None:
    sim.inject("GET", "/v2/me", status=500, times=4)

    with _client(sim.url, sleeps, backoff_base=0.25, backoff_cap=0.6) as deepnote:
        deepnote.me()

    assert sleeps == [0.25, 0.5, 0.6, 0.6]


def test_retry_after_is_honoured_and_capped(sim: Simulator, sleeps: list[float]) -> None:
    sim.inject("GET", "/v2/me", status=429, retry_after=7, times=1)
    sim.inject("GET", "/v2/me", status=503, retry_after=90, times=1)

    with _client(sim.url, sleeps, backoff_cap=30.0) as deepnote:
        deepnote.me()

    assert sleeps == [7.0, 30.0]


def test_reads_give_up_after_their_retries(client: DeepnoteClient, sim: Simulator) -> None:
    sim.inject("GET", "/v2/runs/", status=500, message="Internal server error", times=10)

    with pytest.raises(errors.DeepnoteServerError, match="Internal server error"):
        client.get_run("6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b", retries=2)

    assert sum(1 for r in sim.requests if r.path.startswith("/v2/runs/")) == 3


def test_rate_limited_error_keeps_retry_after(client: DeepnoteClient, sim: Simulator) -> None:
    sim.inject("GET", "/v2/runs/", status=429, message="Too many requests", retry_after=12)

    with pytest.raises(errors.DeepnoteRateLimited) as caught:
        client.get_run("6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b", retries=0)

    assert caught.value.retry_after == 12
    assert caught.value.retryable


def test_reads_retry_a_dropped_connection(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("GET", "/v2/notebooks/", reset=True)

    assert client.get_notebook(HELLO_NOTEBOOK_ID).name == "Hello world"
    assert sleeps == [0.5]


def test_create_is_never_retried_on_5xx(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("POST", "/v2/runs", status=500, message="Hardware unable to start")

    with pytest.raises(errors.DeepnoteServerError, match="Hardware unable to start"):
        client.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    assert (_posts(sim), sleeps, sim.runs) == (1, [], {})


def test_create_is_retried_on_429(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("POST", "/v2/runs", status=429, retry_after=1)

    created = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    assert (_posts(sim), sleeps, list(sim.runs)) == (2, [1.0], [created.run_id])


def test_create_that_times_out_is_uncertain_and_not_retried(
    sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("POST", "/v2/runs", delay=0.4)

    with (
        _client(sim.url, sleeps, timeout=0.1) as deepnote,
        pytest.raises(errors.DeepnoteCreateUncertain) as caught,
    ):
        deepnote.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    assert (_posts(sim), sleeps) == (1, [])
    assert "may have started" in caught.value.message
    # The late answer still starts the run on the server: exactly why the bot must not retry.
    deadline = time.monotonic() + 3
    while not sim.runs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sim.runs) == 1


def test_create_whose_connection_drops_is_uncertain(
    client: DeepnoteClient, sim: Simulator, sleeps: list[float]
) -> None:
    sim.inject("POST", "/v2/runs", reset=True)

    with pytest.raises(errors.DeepnoteCreateUncertain):
        client.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    assert (_posts(sim), sleeps) == (1, [])


def test_create_whose_answer_is_unreadable_is_uncertain(
    client: DeepnoteClient, sim: Simulator
) -> None:
    sim.inject("POST", "/v2/runs", status=202, malformed=True)

    with pytest.raises(errors.DeepnoteCreateUncertain, match="could not read"):
        client.create_run(RunRequest(HELLO_NOTEBOOK_ID))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_create_is_retried_when_the_connection_was_never_made(sleeps: list[float]) -> None:
    calls: list[tuple[str, int | None, float]] = []
    with (
        _client(
            f"http://127.0.0.1:{_closed_port()}",
            sleeps,
            retries=2,
            on_call=lambda *call: calls.append(call),
        ) as deepnote,
        pytest.raises(errors.DeepnoteUnavailable, match="could not be reached"),
    ):
        deepnote.create_run(RunRequest(HELLO_NOTEBOOK_ID))

    assert sleeps == [0.5, 1.0]
    assert [(label, status) for label, status, _ in calls] == [("POST /v2/runs", None)] * 3


def test_a_failing_on_call_hook_does_not_break_the_call(
    sim: Simulator, sleeps: list[float]
) -> None:
    def broken(label: str, status: int | None, seconds: float) -> None:
        raise RuntimeError("metrics are down")

    with _client(sim.url, sleeps, on_call=broken) as deepnote:
        assert deepnote.me()["accessLevel"] == "admin"


def test_hooks_are_constructor_keywords(sim: Simulator, sleeps: list[float]) -> None:
    waits: list[str] = []
    seen: list[int | None] = []
    budget = RequestBudget(100)
    with _client(
        sim.url,
        sleeps,
        budget=budget,
        before_call=lambda: waits.append("wait"),
        observers=[lambda _label, status, _secs: seen.append(status)],
    ) as deepnote:
        deepnote.me()

    assert waits == ["wait"]
    assert seen == [200]
    assert budget.taken == 1


def test_with_hooks_keeps_the_settings_and_observers_and_adds_the_hooks(
    sim: Simulator, sleeps: list[float]
) -> None:
    first: list[int | None] = []
    second: list[int | None] = []
    waits: list[str] = []
    given = _client(sim.url, sleeps, retries=1)
    given.add_observer(lambda _label, status, _secs: first.append(status))
    budget = RequestBudget(100)
    sim.inject("GET", "/v2/me", status=503, times=1)

    with given.with_hooks(
        budget=budget,
        before_call=lambda: waits.append("wait"),
        observers=[lambda _label, status, _secs: second.append(status)],
    ) as deepnote:
        assert deepnote.me()["accessLevel"] == "admin"

    given.close()
    assert first == second == [503, 200]
    assert waits == ["wait", "wait"]  # before each attempt
    assert sleeps == [0.5]  # the given client's sleep and backoff
    assert deepnote.budget is budget
    assert budget.taken == 2
    assert given.budget is None
    assert given.before_call is None


# -- snapshots -----------------------------------------------------------------------------


def test_snapshot_inline_and_downloaded_are_the_same(
    client: DeepnoteClient, sim: Simulator, clock: ManualClock
) -> None:
    created = client.create_run(RunRequest(SALES_NOTEBOOK_ID, {"report_title": "Q1 numbers"}))
    clock.advance(seconds=10)

    linked = client.get_run(created.run_id)
    inline = client.get_run(created.run_id, snapshot_delivery="inline")

    assert linked.snapshot_url
    assert linked.snapshot_content is None
    assert inline.snapshot_content
    assert inline.snapshot_url is None
    assert client.fetch_snapshot(linked) == client.fetch_snapshot(inline)
    assert "Q1 numbers" in inline.snapshot_content
    download = next(r for r in sim.requests if r.path.startswith("/_snapshots/"))
    assert download.authorized  # same origin as the API: the bearer is sent


def test_a_run_without_snapshot_fetches_nothing(client: DeepnoteClient, clock: ManualClock) -> None:
    created = client.create_run(RunRequest(QUALITY_NOTEBOOK_ID, {"dataset": "customers"}))
    clock.advance(seconds=10)

    run = client.get_run(created.run_id)

    assert run.status == "success"
    assert client.fetch_snapshot(run) is None


def test_an_expired_snapshot_url_is_forbidden(client: DeepnoteClient, clock: ManualClock) -> None:
    created = client.create_run(RunRequest(HELLO_NOTEBOOK_ID))
    clock.advance(seconds=10)
    run = client.get_run(created.run_id)
    clock.advance(minutes=15, seconds=1)

    with pytest.raises(errors.DeepnoteForbidden, match="HTTP 403"):
        client.fetch_snapshot(run)
    assert "Hello world!" in (client.fetch_snapshot(client.get_run(created.run_id)) or "")


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b"version: 1.0.0\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def storage() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A second server on another port, standing in for presigned object storage."""
    seen: list[dict[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_bearer_is_not_sent_to_a_foreign_snapshot_url(
    client: DeepnoteClient, storage: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = storage
    run = Run(run_id="r1", status="success", snapshot_url=f"{url}/snap.yaml?X-Amz-Signature=abc")

    assert client.fetch_snapshot(run) == "version: 1.0.0\n"
    assert len(seen) == 1
    assert "authorization" not in seen[0]
    assert seen[0]["user-agent"] == USER_AGENT


# -- secrecy -------------------------------------------------------------------------------


def test_the_key_never_appears_in_errors_logs_or_reprs(
    sim: Simulator, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raised: list[errors.DeepnoteError] = []
    sim.inject("GET", "/v2/me", status=500, message=f"bad key {KEY}", times=2)
    sim.inject("POST", "/v2/runs", reset=True)
    with _client(sim.url, sleeps, retries=1) as deepnote:
        for attempt in (
            deepnote.me,
            lambda: deepnote.create_run(RunRequest(HELLO_NOTEBOOK_ID)),
            lambda: deepnote.get_notebook("f" * 32),
            lambda: deepnote.create_run(RunRequest(SALES_NOTEBOOK_ID, {"nope": "x"})),
        ):
            with pytest.raises(errors.DeepnoteError) as caught:
                attempt()
            raised.append(caught.value)
        client_repr = repr(deepnote)
    with _client(f"http://127.0.0.1:{_closed_port()}", sleeps, retries=0) as offline:
        with pytest.raises(errors.DeepnoteUnavailable) as unreachable:
            offline.me()
        raised.append(unreachable.value)
    sim.revoke_key()
    with _client(sim.url, sleeps) as revoked, pytest.raises(errors.DeepnoteAuthError) as denied:
        revoked.me()
    raised.append(denied.value)

    assert len(raised) == 6
    texts = [client_repr, caplog.text, repr(sim), str(sim.requests)]
    for error in raised:
        texts += [str(error), repr(error), error.user_message, repr(error.args)]
        texts += [str(error.__cause__), str(error.__context__)]
    assert not [t for t in texts if KEY in t]
    assert "[redacted]" in raised[0].message


def test_a_key_that_cannot_be_a_header_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="API key") as caught:
        DeepnoteClient(base_url="http://127.0.0.1:1", api_key="sk-SECRET\nInjected: yes")

    assert "SECRET" not in str(caught.value)
