"""The run form, pure: the modal built from a notebook's inputs, read back, and its metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.deepnote.models import INPUT_TYPES, Notebook, NotebookInput
from bot.errors import FormErrors, UserError
from bot.offline.simulator import SALES_NOTEBOOK_ID, load_notebooks
from bot.offline.simulator.notebooks import SAMPLES_DIR
from bot.offline.slack_standin import validate_view
from bot.slack.run_form import (
    FormRequest,
    TamperedForm,
    block_id,
    build_view,
    form_key,
    form_wanted,
    modal_metadata,
    parse_state,
    plain_error,
    read_request,
    sign_request,
    validate_form,
)
from storage.records import RunOptions

TODAY = date(2026, 11, 25)
KEY = form_key("test-signing-secret")
SALES = next(n.notebook for n in load_notebooks([SAMPLES_DIR]) if n.id == SALES_NOTEBOOK_ID)


def assert_valid_modal(view: dict[str, Any]) -> None:
    """Slack would accept it: slack_sdk's models and the stand-in's rules both pass."""
    View(**view).validate_json()
    for block in view["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
    assert validate_view(view, kind="modal") == []


def element(view: Mapping[str, Any], bid: str) -> dict[str, Any]:
    block = next(b for b in view["blocks"] if b.get("block_id") == bid)
    return dict(block["element"])


def state_of(view: Mapping[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack sends it when the person changes nothing."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el = block["element"]
        kind = el["type"]
        state: dict[str, Any] = {"type": kind}
        if kind in ("plain_text_input", "number_input"):
            state["value"] = el.get("initial_value")
        elif kind == "static_select":
            state["selected_option"] = el.get("initial_option")
        elif kind in ("multi_static_select", "checkboxes"):
            state["selected_options"] = el.get("initial_options", [])
        elif kind == "datepicker":
            state["selected_date"] = el.get("initial_date")
        values[block["block_id"]] = {el["action_id"]: state}
    return values


def test_sales_form_covers_every_input_type_and_is_valid_block_kit() -> None:
    view = build_view(SALES, metadata=sign_request(FormRequest(SALES.id, "T", "U", "C"), KEY))
    assert_valid_modal(view)
    assert view["callback_id"] == "run_form"
    types = {inp.type for inp in SALES.inputs}
    assert types == set(INPUT_TYPES)


@pytest.mark.parametrize(
    ("name", "kind", "prefill"),
    [
        ("report_title", "plain_text_input", {"initial_value": "Weekly sales report"}),
        ("notes", "plain_text_input", {"multiline": True}),
        ("region", "static_select", {"initial_option": {"value": "Europe"}}),
        ("channels", "multi_static_select", {"initial_options": ["Online", "Retail"]}),
        ("top_n", "number_input", {"initial_value": "5", "min_value": "1", "max_value": "10"}),
        ("as_of", "datepicker", {"initial_date": "2026-01-31"}),
        ("price_list", "plain_text_input", {"initial_value": "prices/2026.csv"}),
    ],
)
def test_each_input_type_gets_its_element_prefilled(
    name: str, kind: str, prefill: dict[str, Any]
) -> None:
    view = build_view(SALES, metadata="m")
    index, inp = next((i, x) for i, x in enumerate(SALES.inputs) if x.name == name)
    el = element(view, block_id(inp, index))
    assert el["type"] == kind
    for key, want in prefill.items():
        if key == "initial_option":
            assert el[key]["value"] == want["value"]
        elif key == "initial_options":
            assert [o["value"] for o in el[key]] == want
        else:
            assert el[key] == want, key
    if kind == "number_input":
        assert el["is_decimal_allowed"] is False


def test_checkbox_and_date_range() -> None:
    view = build_view(SALES, metadata="m", values={"include_returns": True})
    box = element(view, "input:include_returns")
    assert box["type"] == "checkboxes"
    assert box["initial_options"] == box["options"]
    assert element(view, "input:period:start")["initial_date"] == "2026-01-01"
    assert element(view, "input:period:end")["initial_date"] == "2026-01-31"
    preset = element(view, "input:period:preset")
    assert preset["initial_option"]["value"] == "dates"


def test_prefill_overrides_the_notebook_values() -> None:
    values = {"region": "Mars", "top_n": "9", "period": "past3months", "channels": ["Partners"]}
    view = build_view(SALES, metadata="m", values=values)
    assert element(view, "input:region")["initial_option"]["value"] == "Mars"
    assert element(view, "input:top_n")["initial_value"] == "9"
    assert element(view, "input:period:preset")["initial_option"]["value"] == "past3months"
    assert "initial_date" not in element(view, "input:period:start")
    assert [o["value"] for o in element(view, "input:channels")["initial_options"]] == ["Partners"]


def test_unchanged_form_reads_back_as_the_notebooks_values() -> None:
    view = build_view(SALES, metadata="m")
    inputs = validate_form(SALES, parse_state(SALES, state_of(view)), today=TODAY)
    assert inputs == {
        "report_title": "Weekly sales report",
        "notes": "All numbers are synthetic.",
        "include_returns": False,
        "region": "Europe",
        "channels": ["Online", "Retail"],
        "top_n": "5",
        "as_of": "2026-01-31",
        "period": ["2026-01-01", "2026-01-31"],
        "price_list": "prices/2026.csv",
    }


def test_changed_values_and_presets_read_back() -> None:
    view = build_view(SALES, metadata="m")
    state = state_of(view)
    state["input:region"]["value"]["selected_option"] = {"value": "Asia Pacific"}
    state["input:include_returns"]["value"]["selected_options"] = []
    state["input:period:preset"]["value"]["selected_option"] = {"value": "past7days"}
    state["input:notes"]["value"]["value"] = None  # emptied
    inputs = validate_form(SALES, parse_state(SALES, state), today=TODAY)
    assert inputs["region"] == "Asia Pacific"
    assert inputs["include_returns"] is False
    assert inputs["period"] == "past7days"
    assert inputs["notes"] == ""


def test_invalid_values_map_to_their_blocks() -> None:
    view = build_view(SALES, metadata="m")
    state = state_of(view)
    state["input:top_n"]["value"]["value"] = "70"
    state["input:price_list"]["value"]["value"] = "prices.txt"
    state["input:period:start"]["value"]["selected_date"] = None  # end date alone
    with pytest.raises(FormErrors) as caught:
        validate_form(SALES, parse_state(SALES, state), today=TODAY)
    errors = caught.value.errors
    assert set(errors) == {"input:top_n", "input:price_list", "input:period:start"}
    assert "out of range" in errors["input:top_n"]
    assert "`" not in errors["input:top_n"]
    assert ".csv" in errors["input:price_list"]


def test_an_option_that_is_no_longer_there_is_an_error() -> None:
    state = state_of(build_view(SALES, metadata="m"))
    state["input:region"]["value"]["selected_option"] = {"value": "Atlantis"}
    with pytest.raises(FormErrors) as caught:
        validate_form(SALES, parse_state(SALES, state), today=TODAY)
    assert list(caught.value.errors) == ["input:region"]


def test_many_options_fall_back_to_text_and_long_options_fit() -> None:
    long = "x" * 200
    nb = Notebook(
        "ab" * 16,
        "Options",
        (
            NotebookInput("many", "input-select", "o1", options=tuple(f"o{i}" for i in range(150))),
            NotebookInput("long", "input-select", long, options=(long, "short")),
            NotebookInput("commas", "input-select", ["a,b"], options=("a,b", "c"), multiple=True),
            NotebookInput("ratio", "input-slider", "0.5", min=0, max=1, step=0.1),
        ),
    )
    view = build_view(nb, metadata="m")
    assert_valid_modal(view)
    assert element(view, "input:many")["type"] == "plain_text_input"
    long_el = element(view, "input:long")
    assert long_el["initial_option"]["value"] == "#0"
    assert len(long_el["options"][0]["text"]["text"]) <= 75
    ratio = element(view, "input:ratio")
    assert ratio["is_decimal_allowed"] is True
    assert ratio["initial_value"] == "0.5"
    state = state_of(view)
    state["input:commas"]["value"]["selected_options"] = [
        {"value": "a,b"},
        {"value": "c"},
    ]
    inputs = validate_form(nb, parse_state(nb, state), today=TODAY)
    assert inputs == {"many": "o1", "long": long, "commas": ["a,b", "c"], "ratio": "0.5"}


def test_form_stays_within_100_blocks() -> None:
    inputs = tuple(
        NotebookInput(f"range_{i}", "input-date-range", ["2026-01-01", "2026-01-02"])
        for i in range(40)
    )
    view = build_view(Notebook("cd" * 16, "Big", inputs), metadata="m")
    assert len(view["blocks"]) <= 100
    assert "keep their current values" in str(view["blocks"][-1])
    assert_valid_modal(view)


def test_metadata_round_trip_and_tampering() -> None:
    request = FormRequest(
        "ab" * 16,
        "T0TEST",
        "U0ALICE",
        "C0GENERAL",
        thread_ts="1.2",
        options=RunOptions(readonly=True, post_outputs="all"),
        inputs={"region": "Mars", "on": True, "pick": ["a"]},
    )
    text = sign_request(request, KEY)
    assert read_request(text, KEY) == request
    mac, _, body = text.partition(".")
    for forged in (
        f"{mac}.{body.replace('C0GENERAL', 'C0SECRET')}",
        f"{'A' * len(mac)}.{body}",
        body,
        "",
    ):
        with pytest.raises(TamperedForm):
            read_request(forged, KEY)
    with pytest.raises(TamperedForm):
        read_request(text, form_key("another-secret"))


def test_modal_metadata_leaves_out_prefill_and_refuses_what_does_not_fit() -> None:
    request = FormRequest("ab" * 16, "T", "U", "C", inputs={"x": "y" * 5000})
    assert read_request(modal_metadata(request, KEY), KEY).inputs == {}
    too_many = FormRequest(
        "ab" * 16, "T", "U", "C", options=RunOptions(block_ids=tuple("f" * 32 for _ in range(100)))
    )
    with pytest.raises(UserError):
        modal_metadata(too_many, KEY)


@pytest.mark.parametrize(
    ("form_flag", "inputs_given", "has_inputs", "wanted"),
    [
        (False, False, True, True),
        (False, True, True, False),
        (True, True, True, True),
        (False, False, False, False),
        (True, False, False, True),
    ],
)
def test_when_the_form_is_wanted(
    form_flag: bool, inputs_given: bool, has_inputs: bool, wanted: bool
) -> None:
    notebook = SALES if has_inputs else Notebook("ef" * 16, "Plain")
    assert form_wanted(form_flag=form_flag, inputs_given=inputs_given, notebook=notebook) is wanted


def test_plain_error_strips_mrkdwn() -> None:
    assert plain_error("`a`: `x &lt;y` is bad", "a") == "x <y is bad"
