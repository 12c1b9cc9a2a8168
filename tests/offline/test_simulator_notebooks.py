"""The `.deepnote` loader: the samples, notebook ids, and Deepnote's own files."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from bot.clock import ManualClock
from bot.deepnote.models import INPUT_TYPES
from bot.offline.simulator import (
    HELLO_NOTEBOOK_ID,
    KPI_NOTEBOOK_ID,
    QUALITY_NOTEBOOK_ID,
    SALES_NOTEBOOK_ID,
    SAMPLES_DIR,
    Simulator,
    load_notebooks,
)
from bot.offline.simulator.notebooks import api_notebook_id, api_project_id
from tests.offline.contract import (
    DASHED_UUID,
    HEX32,
    KEY,
    QUALITY_CHECK_BLOCK,
    REFERENCE_DIR,
    SALES_BLOCKS,
    START,
    snapshot_blocks,
    start_run,
    tls,
)

# -- the .deepnote loader --------------------------------------------------------------------


def test_samples_are_four_version_1_files() -> None:
    files = sorted(p.name for p in SAMPLES_DIR.glob("*.deepnote"))

    assert files == [
        "data-quality-check.deepnote",
        "hello-world.deepnote",
        "kpi-monitor.deepnote",
        "sales-report.deepnote",
    ]
    for path in SAMPLES_DIR.glob("*.deepnote"):
        assert yaml.safe_load(path.read_text())["version"] == "1.0.0"
    notebooks = {nb.name: nb for nb in load_notebooks([SAMPLES_DIR])}
    assert {n: nb.id for n, nb in notebooks.items()} == {
        "Sales report": SALES_NOTEBOOK_ID,
        "Hello world": HELLO_NOTEBOOK_ID,
        "Data quality check": QUALITY_NOTEBOOK_ID,
        "KPI monitor": KPI_NOTEBOOK_ID,
    }
    assert {i.type for i in notebooks["Sales report"].inputs} == set(INPUT_TYPES)
    assert all(
        HEX32.fullmatch(nb.id) and DASHED_UUID.fullmatch(nb.project_id) for nb in notebooks.values()
    )


def test_sample_block_ids_used_by_the_behaviours_exist() -> None:
    notebooks = {nb.id: nb for nb in load_notebooks([SAMPLES_DIR])}
    sales = {b.id for b in notebooks[SALES_NOTEBOOK_ID].notebook.blocks}

    assert set(SALES_BLOCKS) <= sales
    assert notebooks[QUALITY_NOTEBOOK_ID].block(QUALITY_CHECK_BLOCK) is not None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("921d82a6-7cb1-4fc6-a061-810ce23f803d", "921d82a67cb14fc6a061810ce23f803d"),
        ("7061f86dec6e4e11893288f295a82017", "7061f86dec6e4e11893288f295a82017"),
        ("921D82A6-7CB1-4FC6-A061-810CE23F803D", "921d82a67cb14fc6a061810ce23f803d"),
    ],
)
def test_uuid_notebook_ids_lose_their_dashes(source: str, expected: str) -> None:
    assert api_notebook_id(source, "project") == expected


def test_other_ids_are_hashed_stably() -> None:
    hashed = api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p1")

    assert HEX32.fullmatch(hashed)
    assert hashed == api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p1")
    assert hashed != api_notebook_id("9b1f7c00-0000-4a00-9000-locrunnernb001", "p2")
    assert DASHED_UUID.fullmatch(api_project_id("9b1f7c00-0000-4a00-9000-locrunnershow1"))
    assert api_project_id("D025B1DD-0EA7-49E8-8229-B571DD98D430") == (
        "d025b1dd-0ea7-49e8-8229-b571dd98d430"
    )


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE_DIR


def test_loader_reads_deepnotes_own_snapshot_files(reference_dir: Path) -> None:
    notebooks = {nb.name: nb for nb in load_notebooks(sorted(reference_dir.glob("*.deepnote")))}

    assert set(notebooks) == {
        "1. Hello World - example",
        "1. Text blocks",
        "2. Input blocks",
        "Dashboard",
    }
    assert notebooks["1. Hello World - example"].id == "7061f86dec6e4e11893288f295a82017"
    assert notebooks["1. Hello World - example"].inputs == ()
    assert notebooks["2. Input blocks"].id == "cb38dd6ada834319b6db067eb7730a68"
    blocks = {i.name: i for i in notebooks["2. Input blocks"].inputs}
    assert {n: (i.type, i.value) for n, i in blocks.items()} == {
        "input_text": ("input-text", "I am an input"),
        "input_textarea": (
            "input-textarea",
            "I am bigger and longer text that can be used for paragraphs.",
        ),
        "input_select": ("input-select", "I am a first option"),
        "input_slider": ("input-slider", "5"),
        "input_checkbox": ("input-checkbox", True),
        "input_date": ("input-date", "2025-11-03"),
        "input_date_range": ("input-date-range", ["2025-01-02", "2025-01-03"]),
    }
    assert (
        blocks["input_slider"].min,
        blocks["input_slider"].max,
        blocks["input_slider"].step,
    ) == (0, 10, 1)
    assert blocks["input_select"].options == ("I am a first option", "I am a second option")
    assert blocks["input_select"].block_id == "5bce645711428cddc48c17fdfc89e256"

    dashboard = notebooks["Dashboard"]
    assert HEX32.fullmatch(dashboard.id)
    assert DASHED_UUID.fullmatch(dashboard.project_id)
    inputs = {i.name: i for i in dashboard.inputs}
    assert inputs["as_of"].value == "2026-03-31"
    assert inputs["period"].value == ["2026-01-01", "2026-03-31"]
    assert (inputs["target_revenue_k"].min, inputs["target_revenue_k"].step) == (600, 50)
    assert inputs["show_forecast"].value is True
    assert inputs["region"].options
    assert inputs["region"].multiple is False


def test_simulator_serves_deepnotes_own_files(reference_dir: Path, tmp_path: Path) -> None:
    for name in ("deepnote-blocks_d025b1dd-0ea7-49e8-8229-b571dd98d430_latest.snapshot.deepnote",):
        shutil.copy(reference_dir / name, tmp_path / name)
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, notebooks_dir=tmp_path, clock=clock) as sim,
        httpx.Client(
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=tls()
        ) as api,
    ):
        notebook = api.get("/v2/notebooks/cb38dd6a-da83-4319-b6db-067eb7730a68").json()["notebook"]
        run_id = start_run(
            api,
            {
                "notebookId": notebook["id"],
                "inputs": {"input_text": "Hi from the bot", "input_checkbox": False},
            },
        )
        clock.advance(seconds=5)
        run = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": "inline"}).json()["run"]

    assert [i["name"] for i in notebook["inputs"]][:2] == ["input_text", "input_textarea"]
    assert run["status"] == "success"
    blocks = snapshot_blocks(run["snapshotContent"])
    assert blocks["dd89e10c880e6aea085862c8fa5d17c5"]["outputs"][0]["text"] == "Hi from the bot\n"
    assert blocks["11268833c36692f219a57d4a507803cf"]["outputs"][0]["text"] == "False\n"
    # A block the simulator cannot evaluate keeps the output stored in the file.
    assert blocks["e9657f13e6d0bdf2dd54ef8363abf406"]["outputs"][0]["text"].startswith(
        "[datetime.date"
    )
    # The other notebook of the project keeps its stored outputs untouched.
    assert blocks["2665e1a332df6436b0ce30d662bfe1f1"]["outputs"][0]["text"] == "Hello World!\n"


def test_a_stored_error_output_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "broken.deepnote").write_text(
        yaml.safe_dump(
            {
                "version": "1.0.0",
                "metadata": {"createdAt": "2026-01-01T00:00:00.000Z"},
                "project": {
                    "id": "3f0e2d1c-0b9a-4877-8665-544332211000",
                    "name": "Broken",
                    "notebooks": [
                        {
                            "id": "4e1f3a2b-1c0d-4e9f-8a7b-6c5d4e3f2a10",
                            "name": "Broken",
                            "blocks": [
                                {
                                    "id": "b1",
                                    "type": "code",
                                    "content": "1/0",
                                    "outputs": [
                                        {
                                            "output_type": "error",
                                            "ename": "ZeroDivisionError",
                                            "evalue": "division by zero",
                                            "traceback": [],
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                },
            }
        )
    )
    clock = ManualClock(START)
    with (
        Simulator(api_key=KEY, notebooks_dir=tmp_path, clock=clock, pending_seconds=0) as sim,
        httpx.Client(
            base_url=sim.url, headers={"Authorization": f"Bearer {KEY}"}, verify=tls()
        ) as api,
    ):
        run_id = start_run(api, {"notebookId": "4e1f3a2b1c0d4e9f8a7b6c5d4e3f2a10"})
        clock.advance(seconds=2.5)
        run = api.get(f"/v2/runs/{run_id}").json()["run"]

    assert (run["status"], run["error"]) == ("error", None)


def test_loader_rejects_files_that_are_not_deepnote(tmp_path: Path) -> None:
    (tmp_path / "a.deepnote").write_text("just: text\n")
    (tmp_path / "b.deepnote").write_text("{unclosed")

    with pytest.raises(ValueError, match=r"not a \.deepnote file"):
        load_notebooks([tmp_path / "a.deepnote"])
    with pytest.raises(ValueError, match="not valid YAML"):
        load_notebooks([tmp_path / "b.deepnote"])


def test_duplicate_notebooks_keep_the_first(tmp_path: Path) -> None:
    source = SAMPLES_DIR / "hello-world.deepnote"
    shutil.copy(source, tmp_path / "copy.deepnote")

    loaded = load_notebooks([source, tmp_path / "copy.deepnote"])

    assert [(nb.id, nb.path) for nb in loaded] == [(HELLO_NOTEBOOK_ID, source)]
