"""Simulator knobs for what Deepnote does without saying when: snapshots too large to inline,
and notebooks edited in Deepnote while the bot runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SAMPLES_DIR, Simulator
from tests.offline.contract import KEY, START, start_run


def test_a_snapshot_over_the_inline_limit_comes_as_a_download_url() -> None:
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, clock=clock) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}) as api,
    ):
        run_id = start_run(api, {"notebookId": HELLO_NOTEBOOK_ID})
        clock.advance(seconds=5)
        path, inline = f"/v2/runs/{run_id}", {"snapshotDelivery": "inline"}
        small = api.get(path, params=inline).json()["run"]
        sim.inline_snapshot_limit = 10
        large = api.get(path, params=inline).json()["run"]
        download = api.get(large["snapshotDownloadUrl"])

    assert "Hello world!" in small["snapshotContent"]
    assert "snapshotDownloadUrl" not in small
    assert "snapshotContent" not in large
    assert download.status_code == 200
    assert download.text == small["snapshotContent"]


def test_a_replaced_notebook_answers_with_its_new_inputs(tmp_path: Path) -> None:
    document = yaml.safe_load((SAMPLES_DIR / "hello-world.deepnote").read_text())
    document["project"]["notebooks"][0]["name"] = "Hello again"
    document["project"]["notebooks"][0]["blocks"].append(
        {
            "id": "5e1c0b7a9d3f4e2a8b6c1d0e9f8a7b6c",
            "sortingKey": "a9",
            "type": "input-text",
            "content": "",
            "metadata": {"deepnote_variable_name": "greeting", "deepnote_variable_value": "Hi"},
        }
    )
    edited = tmp_path / "hello.deepnote"
    edited.write_text(yaml.safe_dump(document))
    with (
        Simulator(api_key=KEY, clock=ManualClock(START)) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}) as api,
    ):
        before = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}").json()["notebook"]
        sim.replace_notebooks(edited)
        after = api.get(f"/v2/notebooks/{HELLO_NOTEBOOK_ID}").json()["notebook"]

    assert (before["name"], before["inputs"]) == ("Hello world", [])
    assert after["name"] == "Hello again"
    assert [i["name"] for i in after["inputs"]] == ["greeting"]
