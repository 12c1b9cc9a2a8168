"""Tables of cases for the slash command tokenizer, parser and notebook references."""

from __future__ import annotations

import pytest

from bot.commands import types
from bot.commands.docs import COMMANDS, format_usage
from bot.commands.parse import MAX_TEXT, parse_command
from bot.commands.scan import MAX_INPUTS
from bot.commands.values import parse_tz
from bot.deepnote.notebook_ref import (
    UnknownNotebookRef,
    is_notebook_id,
    notebook_url,
    parse_notebook_ref,
)
from bot.errors import UserError
from bot.text.tokens import tokenize
from storage.records import RunOptions

NB = "0123456789abcdef0123456789abcdef"
UUID = "01234567-89AB-CDEF-0123-456789ABCDEF"


def run(notebook: str = "sales", **kw: object) -> types.RunCommand:
    """A RunCommand with the defaults filled in (run options by their own names)."""
    option_names = ("readonly", "block_ids", "run_dependents", "post_outputs")
    options = RunOptions(**{k: kw.pop(k) for k in option_names if k in kw})  # type: ignore[arg-type]
    fields: dict[str, object] = {"inputs": (), "form": False}
    fields.update(kw)
    return types.RunCommand(notebook=notebook, options=options, **fields)  # type: ignore[arg-type]


def schedule(when: str, notebook: str = "sales", **kw: object) -> types.ScheduleCommand:
    """A ScheduleCommand with the defaults filled in."""
    fields: dict[str, object] = {"inputs": (), "tz": None, "notify": "always", "post_outputs": None}
    fields.update(kw)
    return types.ScheduleCommand(notebook=notebook, when=when, **fields)  # type: ignore[arg-type]


def user_error(text: str) -> UserError:
    with pytest.raises(UserError) as info:
        parse_command(text)
    return info.value


# --- tokenize ---------------------------------------------------------------------------------

TOKENIZE = [
    ("plain words", "run  sales\treport", ["run", "sales", "report"]),
    ("newline and nbsp split", "run\nsales\u00a0report", ["run", "sales", "report"]),
    ("double quotes", 'run "Sales report"', ["run", "Sales report"]),
    ("single quotes", "run 'Sales report'", ["run", "Sales report"]),
    ("quotes inside a token", 'title="Q3 report"', ["title=Q3 report"]),
    ("typographic double", "title=“Q3 report”", ["title=Q3 report"]),
    ("typographic single", "title=‘Q3 report’", ["title=Q3 report"]),
    ("low-9 German", "title=„Q3 Bericht“", ["title=Q3 Bericht"]),
    ("Swedish right quotes", "title=”Q3 rapport”", ["title=Q3 rapport"]),
    ("guillemets", "title=«Q3 rapport»", ["title=Q3 rapport"]),
    ("mixed straight and curly", 'title="Q3 report”', ["title=Q3 report"]),
    ("single inside double", 'title="it\'s fine"', ["title=it's fine"]),
    ("double inside single", "note='say \"hi\"'", ['note=say "hi"']),
    ("single inside curly double", "note=“say 'hi'”", ["note=say 'hi'"]),
    ("apostrophe", "note=Bob's", ["note=Bob's"]),
    ("typographic apostrophe", "note=Bob’s", ["note=Bob’s"]),
    ("apostrophe inside single quotes", "note='Bob's report'", ["note=Bob's report"]),
    ("backslash is literal", r"path=C:\data\new.csv", [r"path=C:\data\new.csv"]),
    ("backslash before a closing quote", r'path="C:\temp\"', [r"path=C:\temp" + "\\"]),
    ("empty value", "key=", ["key="]),
    ("empty quoted value", 'key=""', ["key="]),
    ("empty quoted token", 'a "" b', ["a", "", "b"]),
    ("adjacent quoted parts", 'a"b c"d', ["ab cd"]),
    ("backticks group", "run `sales report`", ["run", "sales report"]),
    ("control characters dropped", "ru\x00n sa\x07les\r", ["run", "sales"]),
    ("zero-width space dropped", "\u200brun \ufeffsales", ["run", "sales"]),
    ("quoted newline kept", 'note="a\nb"', ["note=a\nb"]),
    ("empty text", "", []),
    ("only spaces", "   \t\n ", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TOKENIZE], ids=[c[0] for c in TOKENIZE]
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


UNBALANCED = [
    ('run "Sales report', '`"`', "Sales report"),
    ("run sales title=“Q3 report", "`“`", "title="),
    ("run sales note='oops", "`'`", "note="),
    ("run «Sales", "`«`", "Sales"),
    ("run `sales", "`ˋ`", "sales"),
]


@pytest.mark.parametrize(("text", "quote", "where"), UNBALANCED)
def test_unbalanced_quote_names_the_quote_and_where(text: str, quote: str, where: str) -> None:
    err = user_error(text)
    assert "never closed" in err.message
    assert quote in err.message
    assert where in err.message
    assert err.hint
    assert 'title="Q3 report"' in err.hint


# --- parse_command: every subcommand ---------------------------------------------------------

PARSED = [
    ("empty is help", "", types.HelpCommand(None)),
    ("help", "help", types.HelpCommand(None)),
    ("help topic", "help run", types.HelpCommand("run")),
    ("help topic any case", "HELP Schedule", types.HelpCommand("schedule")),
    ("--help", "--help", types.HelpCommand(None)),
    ("leading /deepnote tolerated", "/deepnote help", types.HelpCommand(None)),
    ("run", "run sales", run()),
    ("run any case", "RUN sales", run()),
    (
        "run with inputs",
        'run sales region=EU months=6 title="Q3 report"',
        run(inputs=(("region", "EU"), ("months", "6"), ("title", "Q3 report"))),
    ),
    ("run empty value", 'run sales note= title=""', run(inputs=(("note", ""), ("title", "")))),
    ("value with =", "run sales expr=a=b", run(inputs=(("expr", "a=b"),))),
    ("negative number", "run sales delta=-5", run(inputs=(("delta", "-5"),))),
    ("value starting with --", "run sales flag=--x", run(inputs=(("flag", "--x"),))),
    ("readonly", "run sales --readonly", run(readonly=True)),
    ("em-dash option from smart punctuation", "run sales —readonly", run(readonly=True)),
    ("single-dash option", "run sales -readonly", run(readonly=True)),
    ("option case and underscore", "run sales --Post_Outputs ALL", run(post_outputs="all")),
    ("options before the notebook", "run --form sales", run(form=True)),
    ("form", "run sales --form region=EU", run(form=True, inputs=(("region", "EU"),))),
    ("as is", "run sales --as-is", run(as_is=True)),
    ("as is spelled with _", "run sales --AS_IS", run(as_is=True)),
    (
        "as is with inputs",
        "run sales region=EU --as-is",
        run(as_is=True, inputs=(("region", "EU"),)),
    ),
    ("blocks next token", "run sales --blocks b1,b2", run(block_ids=("b1", "b2"))),
    ("blocks with =", "run sales --blocks=b1,b2", run(block_ids=("b1", "b2"))),
    ("blocks quoted with spaces", 'run sales --blocks "b1, b2"', run(block_ids=("b1", "b2"))),
    ("blocks deduplicated", "run sales --blocks b1,b2,b1,", run(block_ids=("b1", "b2"))),
    (
        "blocks with dependents",
        "run sales --blocks b1 --with-dependents",
        run(block_ids=("b1",), run_dependents=True),
    ),
    (
        "dependents before blocks",
        "run sales --with-dependents --blocks b1",
        run(block_ids=("b1",), run_dependents=True),
    ),
    ("post-outputs none", "run sales --post-outputs none", run(post_outputs="none")),
    (
        "post-outputs list",
        "run sales --post-outputs revenue_chart,summary,revenue_chart",
        run(post_outputs="revenue_chart,summary"),
    ),
    ("quoted notebook name", 'run "Sales report" x=1', run("Sales report", inputs=(("x", "1"),))),
    (
        "notebook URL keeps its query",
        f"run https://deepnote.com/project/p/notebook/Report-{NB}?secondary-sidebar=runs a=1",
        run(
            f"https://deepnote.com/project/p/notebook/Report-{NB}?secondary-sidebar=runs",
            inputs=(("a", "1"),),
        ),
    ),
    (
        "Slack-wrapped values and entities",
        "run sales url=<https://example.com/a.csv|example.com/a.csv> q=R&amp;D "
        "mail=<mailto:a@b.co>",
        run(inputs=(("url", "example.com/a.csv"), ("q", "R&D"), ("mail", "a@b.co"))),
    ),
    ("windows path", r"run sales path=C:\data\q3.csv", run(inputs=(("path", r"C:\data\q3.csv"),))),
    ("inputs", "inputs sales", types.InputsCommand("sales")),
    (
        "inputs by url",
        f"inputs <https://deepnote.com/x/notebook/{NB}>",
        types.InputsCommand(f"<https://deepnote.com/x/notebook/{NB}>"),
    ),
    (
        "status",
        "status 3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f",
        types.StatusCommand("3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f"),
    ),
    (
        "schedule plain words",
        "schedule sales every weekday at 9am",
        schedule("every weekday at 9am"),
    ),
    ("schedule quoted cron", 'schedule sales "0 9 * * 1-5"', schedule("0 9 * * 1-5")),
    ("schedule typographic quoted cron", "schedule sales “0 9 * * 1-5”", schedule("0 9 * * 1-5")),
    ("schedule unquoted cron", "schedule sales 0 9 * * 1-5", schedule("0 9 * * 1-5")),
    (
        "schedule with everything",
        "schedule sales every monday at 8:30 region=EU --tz europe/prague --notify Failures "
        "--post-outputs chart",
        schedule(
            "every monday at 8:30",
            inputs=(("region", "EU"),),
            tz="Europe/Prague",
            notify="failures",
            post_outputs="chart",
        ),
    ),
    (
        "schedule notify changes",
        "schedule sales daily --notify changes",
        schedule("daily", notify="changes"),
    ),
    (
        "schedule option before when",
        "schedule sales --tz UTC every day",
        schedule("every day", tz="UTC"),
    ),
    ("schedule collapses spaces", 'schedule sales "0  9 * *   *"', schedule("0 9 * * *")),
    ("schedules", "schedules", types.SchedulesCommand()),
    ("unschedule", "unschedule 12", types.UnscheduleCommand("12")),
    ("pause with #", "pause #12", types.PauseCommand("12")),
    ("resume", "resume sch_12", types.ResumeCommand("sch_12")),
    ("trigger", "trigger 12", types.TriggerCommand("12")),
    ("alias", f"alias sales-report {NB}", types.AliasCommand("sales-report", NB)),
    (
        "alias replace",
        'alias sales-report "Sales report" --replace',
        types.AliasCommand("sales-report", "Sales report", replace=True),
    ),
    (
        "alias lowercased",
        "alias Sales_Q3 https://deepnote.com/x",
        types.AliasCommand("sales_q3", "https://deepnote.com/x"),
    ),
    ("aliases", "aliases", types.AliasesCommand()),
    ("unalias", "unalias sales-report", types.UnaliasCommand("sales-report")),
    ("edit timing only", "edit 3 every weekday at 9", types.EditCommand("3", "every weekday at 9")),
    (
        "edit inputs and options",
        'edit #4 "0 9 * * *" region=Asia --tz europe/prague --notify failure --post-outputs all',
        types.EditCommand(
            "4", "0 9 * * *", (("region", "Asia"),), "Europe/Prague", "failures", "all"
        ),
    ),
    ("edit nothing", "edit 1", types.EditCommand("1")),
    ("audit default", "audit", types.AuditCommand(20)),
    ("audit count", "audit 50", types.AuditCommand(50)),
    ("bare run: the picker", "run", types.RunCommand("", (), RunOptions(), form=True)),
    (
        "run with options only: the picker",
        "run --readonly",
        types.RunCommand("", (), RunOptions(readonly=True), form=True),
    ),
    ("find", 'find "sales  report" q3', types.FindCommand("sales  report q3")),
    ("find unescapes", "find a &amp; b", types.FindCommand("a & b")),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [c[1:] for c in PARSED],
    ids=[c[0] for c in PARSED],
)
def test_parse_command(text: str, expected: object) -> None:
    assert parse_command(text) == expected


# --- parse_command: errors name the offending token -------------------------------------------

ERRORS = [
    ("unknown subcommand", "rnu sales", ["`rnu`", "Did you mean `run`?", "`schedule`"]),
    ("unknown subcommand far off", "launch sales", ["`launch`", "`run`", "`audit`"]),
    ("notebook id as subcommand", f"{NB} x=1", [f"`{NB}`", f"`/deepnote run {NB}`"]),
    (
        "run --as-is without notebook",
        "run --as-is",
        ["needs a notebook", "Usage: `/deepnote run &lt;notebook&gt;"],
    ),
    ("run --blocks without notebook", "run --blocks abc", ["needs a notebook"]),
    ("find without text", "find", ["`find` needs", "`/deepnote find &lt;text&gt;`"]),
    ("find too long", "find " + "x" * 101, ["at most 100"]),
    ("run with only inputs", "run region=EU", ["needs a notebook", "Example: `/deepnote run"]),
    ("empty notebook", 'run ""', ["needs a notebook"]),
    ("not key=value", "run sales EU", ["`EU`", "`name=value`", "`region=Europe`"]),
    ("spaces around =", "run sales region = EU", ["`region`", "without spaces around `=`"]),
    ("space after =", "run sales region= EU", ["`EU`", "without spaces around `=`"]),
    ("missing key", "run sales =EU", ["`=EU`", "no input name"]),
    ("key not identifier", "run sales my-region=EU", ["`my-region`", "`my_region=...`"]),
    ("key starts with digit", "run sales 1x=2", ["`1x`", "`_1x=...`"]),
    ("repeated key", "run sales region=EU region=US", ["`region`", "twice"]),
    (
        "unknown option",
        "run sales --redonly",
        ["`--redonly`", "Did you mean `--readonly`?", "`--blocks`"],
    ),
    ("single-dash unknown option", "run sales -r", ["`-r`", "`--readonly`"]),
    ("option of another command", "run sales --tz UTC", ["`--tz`", "`--post-outputs`"]),
    (
        "flag with value",
        "run sales --readonly=yes",
        ["`--readonly` takes no value", "`--readonly=yes`"],
    ),
    (
        "blocks without value",
        "run sales --blocks",
        ["`--blocks` needs a value", "--blocks 170bea8c"],
    ),
    ("blocks followed by option", "run sales --blocks --form", ["`--blocks` needs a value"]),
    (
        "as is with form",
        "run sales --form --as-is",
        ["`--as-is` and `--form` contradict each other", "Drop one of them", "Usage:"],
    ),
    ("as is with a value", "run sales --as-is=yes", ["`--as-is` takes no value"]),
    ("as is misspelt", "run sales --asis", ["not an option of `run`", "Did you mean `--as-is`?"]),
    ("blocks only commas", "run sales --blocks ,,", ["`--blocks` needs at least one block id"]),
    ("bad block id", "run sales --blocks b1,b@d", ["`b@d`", "not a block id"]),
    ("blocks twice", "run sales --blocks a --blocks b", ["`--blocks` is given twice"]),
    (
        "dependents without blocks",
        "run sales --with-dependents",
        ["`--with-dependents`", "`--blocks`"],
    ),
    (
        "readonly with blocks",
        "run sales --readonly --blocks b1",
        ["`--readonly`", "`--blocks`", "full-notebook"],
    ),
    (
        "post-outputs all mixed",
        "run sales --post-outputs all,chart",
        ["`all`", "cannot be combined"],
    ),
    (
        "inputs without notebook",
        "inputs",
        ["`inputs` needs a notebook", "`/deepnote inputs &lt;notebook&gt;`"],
    ),
    ("inputs extra word", "inputs sales extra", ["`extra`", "not expected"]),
    ("inputs with option", "inputs sales --form", ["`--form`", "takes no options"]),
    ("status without id", "status", ["needs a run id", "`/deepnote status &lt;run-id&gt;`"]),
    ("status bad id", "status run/12", ["`run/12`", "not a run id"]),
    ("schedule without notebook", "schedule", ["needs a notebook", "`/deepnote schedule"]),
    ("schedule without when", "schedule sales region=EU", ["when to run", '`"0 9 * * 1-5"`']),
    (
        "schedule words after inputs",
        "schedule sales every day region=EU at 9am",
        ["`at`", "right after the notebook"],
    ),
    (
        "schedule quoted then words",
        'schedule sales "0 9 * * *" daily',
        ["`daily`", "one pair of quotes"],
    ),
    (
        "schedule bad tz",
        "schedule sales daily --tz Mars/Olympus",
        ["`Mars/Olympus`", "`--tz Europe/Prague`"],
    ),
    (
        "schedule tz city",
        "schedule sales daily --tz Prague",
        ["`Prague`", "Did you mean `--tz Europe/Prague`?"],
    ),
    (
        "schedule tz abbreviation",
        "schedule sales daily --tz PST",
        ["`PST`", "`--tz America/Los_Angeles`"],
    ),
    (
        "schedule tz path",
        "schedule sales daily --tz ../../etc/passwd",
        ["`../../etc/passwd`", "not a time zone"],
    ),
    ("schedule tz directory", "schedule sales daily --tz Europe", ["`Europe`", "not a time zone"]),
    (
        "schedule bad notify",
        "schedule sales daily --notify sometimes",
        ["`sometimes`", "`--notify failures`"],
    ),
    ("schedule notify typo", "schedule sales daily --notify failurs", ["Did you mean `failures`?"]),
    (
        "schedule tz without value",
        "schedule sales daily --tz",
        ["`--tz` needs a value", "`--tz Europe/Prague`"],
    ),
    ("schedule tz twice", "schedule sales daily --tz UTC --tz UTC", ["`--tz` is given twice"]),
    ("schedules extra", "schedules all", ["`all`", "not expected"]),
    (
        "unschedule without id",
        "unschedule",
        ["needs a schedule id", "`/deepnote unschedule &lt;schedule-id&gt;`"],
    ),
    ("pause bad id", "pause 12;drop", ["`12;drop`", "not a schedule id", "`/deepnote schedules`"]),
    ("resume two ids", "resume 1 2", ["`2`", "not expected"]),
    ("trigger without id", "trigger", ["needs a schedule id"]),
    ("edit without id", "edit", ["needs a schedule id", "Usage: `/deepnote edit"]),
    ("edit bad id", "edit x! every hour", ["`x!`", "not a schedule id"]),
    (
        "edit when after inputs",
        "edit 1 every hour a=1 daily",
        ["`daily`", "right after the schedule id"],
    ),
    ("edit unknown option", "edit 1 --blocks a", ["`--blocks`"]),
    ("alias one word", "alias sales", ["needs a name and a notebook"]),
    ("alias three words", "alias sales Sales report", ["`report`", "quote a name"]),
    ("alias unknown option", f"alias sales {NB} --force", ["`--force`", "`--replace`"]),
    ("alias bad name", "alias Sales!Report x", ["`Sales!Report`", "`sales-report`"]),
    ("alias too long", "alias " + "a" * 41 + " x", ["not a valid alias name", "1-40"]),
    ("alias hex id", f"alias {NB} x", [f"`{NB}`", "looks like a notebook id"]),
    ("alias uuid", f"alias {UUID.lower()} x", ["looks like a notebook id"]),
    ("aliases extra", "aliases x", ["`x`", "not expected"]),
    ("unalias without name", "unalias", ["needs an alias name"]),
    ("unalias bad name", "unalias a/b", ["`a/b`", "not a valid alias name"]),
    ("audit not a number", "audit many", ["`many`", "1 to 200"]),
    ("audit zero", "audit 0", ["`0`", "1 to 200"]),
    ("audit too many", "audit 201", ["`201`"]),
    ("audit huge", "audit 99999999999999999999", ["`99999999999999999999`"]),
    ("help unknown topic", "help schedul", ["`schedul`", "Did you mean `schedule`?"]),
    ("help two topics", "help run schedule", ["`schedule`", "not expected"]),
    ("mention is made inert", "<!channel>", ["`&lt;!channel&gt;`"]),
    ("backtick in token", "ru`n", ["`ruˋn`"]),
]


@pytest.mark.parametrize(("text", "fragments"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_parse_errors(text: str, fragments: list[str]) -> None:
    err = user_error(text)
    for fragment in fragments:
        assert fragment in err.user_message
    assert len(err.user_message) < 3000


def test_post_outputs_twice_is_an_error() -> None:
    assert (
        "`--post-outputs` is given twice"
        in user_error("run s --post-outputs a --post-outputs=b").message
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x" * (MAX_TEXT + 1), f"{MAX_TEXT:,}"),
        (
            "run sales " + " ".join(f"k{i}=1" for i in range(MAX_INPUTS + 1)),
            f"at most {MAX_INPUTS}",
        ),
    ],
    ids=["text too long", "too many inputs"],
)
def test_limits(text: str, fragment: str) -> None:
    assert fragment in user_error(text).message


def test_limits_allow_the_maximum() -> None:
    text = "run sales " + " ".join(f"k{i}=1" for i in range(MAX_INPUTS))
    cmd = parse_command(text)
    assert isinstance(cmd, types.RunCommand)
    assert len(cmd.inputs) == MAX_INPUTS


def test_long_tokens_are_shortened_in_messages() -> None:
    err = user_error("run sales " + "E" * 500)
    assert "E…`" in err.message
    assert "E" * 60 not in err.message


# --- the COMMANDS table -----------------------------------------------------------------------

EXPECTED_TYPES = {
    "help": types.HelpCommand,
    "run": types.RunCommand,
    "find": types.FindCommand,
    "inputs": types.InputsCommand,
    "status": types.StatusCommand,
    "schedule": types.ScheduleCommand,
    "schedules": types.SchedulesCommand,
    "unschedule": types.UnscheduleCommand,
    "pause": types.PauseCommand,
    "resume": types.ResumeCommand,
    "trigger": types.TriggerCommand,
    "edit": types.EditCommand,
    "alias": types.AliasCommand,
    "aliases": types.AliasesCommand,
    "unalias": types.UnaliasCommand,
    "audit": types.AuditCommand,
    "watch": types.WatchCommand,
    "watches": types.WatchesCommand,
    "unwatch": types.UnwatchCommand,
    "history": types.HistoryCommand,
}


def test_every_subcommand_is_documented_once() -> None:
    names = [doc.name for doc in COMMANDS]
    assert sorted(names) == sorted(EXPECTED_TYPES)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("name", "example"),
    [(doc.name, ex) for doc in COMMANDS for ex in doc.examples],
)
def test_every_example_parses_to_its_command(name: str, example: str) -> None:
    assert isinstance(parse_command(example), EXPECTED_TYPES[name])


@pytest.mark.parametrize("doc", COMMANDS, ids=[d.name for d in COMMANDS])
def test_docs_are_complete(doc: object) -> None:
    from bot.commands.docs import CommandDoc

    assert isinstance(doc, CommandDoc)
    assert doc.usage.split()[0] == doc.name
    assert doc.summary.endswith(".")
    assert 1 <= len(doc.examples) <= 4
    assert all(ex.split()[0] == doc.name for ex in doc.examples)


def test_usage_is_escaped_for_mrkdwn() -> None:
    assert format_usage("inputs") == "`/deepnote inputs &lt;notebook&gt;`"


def test_parse_tz_canonical_case() -> None:
    assert parse_tz(" america/new_york ") == "America/New_York"


# --- notebook references ----------------------------------------------------------------------

REFS = [
    ("id", NB, NB),
    ("id upper case", NB.upper(), NB),
    ("id with spaces", f"  {NB} ", NB),
    ("dashed uuid", UUID, NB),
    (
        "full browser link",
        "https://deepnote.com/workspace/acme-1234abcd-5678-90ef-1234-567890abcdef/project/"
        f"Sales-4f1c2d3e-aaaa-bbbb-cccc-111122223333/notebook/Report-{NB}?secondary-sidebar=runs",
        NB,
    ),
    ("project link", f"https://deepnote.com/project/4f1c2d3e-aaaa/notebook/{NB}", NB),
    ("dashed name", f"https://deepnote.com/project/p/notebook/Q3-sales-report-{NB.upper()}", NB),
    ("encoded name", f"https://deepnote.com/project/p/notebook/Sales%20report-{NB}#block-1", NB),
    ("trailing slash", f"https://deepnote.com/project/p/notebook/{NB}/", NB),
    ("no scheme", f"deepnote.com/project/p/notebook/{NB}", NB),
    ("subdomain", f"https://app.deepnote.com/project/p/notebook/{NB}", NB),
    ("slack link", f"<https://deepnote.com/project/p/notebook/{NB}>", NB),
    ("slack link with label", f"<https://deepnote.com/project/p/notebook/{NB}|Sales report>", NB),
    ("slack wrapped id", f"<{NB}>", NB),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in REFS], ids=[c[0] for c in REFS])
def test_parse_notebook_ref(text: str, expected: str) -> None:
    assert parse_notebook_ref(text) == expected


BAD_REFS = [
    ("name", "sales-report", "`sales-report` is not a notebook id"),
    ("31 hex", NB[:-1], "is not a notebook id"),
    ("33 hex", NB + "0", "is not a notebook id"),
    ("other host", f"https://example.com/project/p/notebook/{NB}", "is not a notebook id"),
    (
        "project link without notebook",
        "https://deepnote.com/workspace/acme/project/Sales-1",
        "does not point to a notebook",
    ),
    (
        "bad notebook segment",
        "https://deepnote.com/project/p/notebook/Report-xyz",
        "does not point to a notebook",
    ),
    ("broken url", "http://[deepnote.com", "is not a notebook id"),
    ("empty", "", "(nothing)"),
]


@pytest.mark.parametrize(
    ("text", "fragment"), [c[1:] for c in BAD_REFS], ids=[c[0] for c in BAD_REFS]
)
def test_bad_notebook_refs(text: str, fragment: str) -> None:
    with pytest.raises(UnknownNotebookRef) as info:
        parse_notebook_ref(text)
    assert info.value.text == text
    assert fragment in info.value.message
    assert isinstance(info.value, UserError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NB, True),
        (NB.upper(), True),
        (NB[:-1], False),
        (UUID, False),
        ("", False),
        (NB + "\n", False),
    ],
)
def test_is_notebook_id(text: str, expected: bool) -> None:
    assert is_notebook_id(text) is expected


URLS = [
    (
        "full",
        {"project_id": "p-1", "workspace_slug": "acme", "workspace_id": "w-1"},
        f"https://deepnote.com/workspace/acme-w-1/project/-p-1/notebook/{NB}",
    ),
    ("project only", {"project_id": "p-1"}, f"https://deepnote.com/project/p-1/notebook/{NB}"),
    (
        "slug without id",
        {"project_id": "p-1", "workspace_slug": "acme"},
        f"https://deepnote.com/project/p-1/notebook/{NB}",
    ),
    ("no project", {"workspace_slug": "acme", "workspace_id": "w-1"}, None),
    (
        "other app url",
        {"project_id": "p", "app_url": "https://dn.example.com/"},
        f"https://dn.example.com/project/p/notebook/{NB}",
    ),
    (
        "runs sidebar",
        {"project_id": "p", "runs": True},
        f"https://deepnote.com/project/p/notebook/{NB}?secondary-sidebar=runs",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in URLS], ids=[c[0] for c in URLS])
def test_notebook_url(kwargs: dict[str, object], expected: str | None) -> None:
    assert notebook_url(NB, **kwargs) == expected  # type: ignore[arg-type]


def test_notebook_url_round_trips() -> None:
    url = notebook_url(NB, "p-1", "acme", "w-1", runs=True)
    assert url is not None
    assert parse_notebook_ref(url) == NB


# --- watches and history ----------------------------------------------------------------------


def test_watch_takes_a_notebook_and_a_notify_choice() -> None:
    assert parse_command("watch sales") == types.WatchCommand("sales", "always")
    assert parse_command("watch sales --notify FAILURE") == types.WatchCommand("sales", "failures")
    assert "`watch` needs a notebook" in user_error("watch").message
    assert "not a `--notify` choice" in user_error("watch sales --notify sometimes").message
    assert "is not expected" in user_error("watch sales extra").message


def test_unwatch_and_history_check_their_numbers() -> None:
    assert parse_command("unwatch #3") == types.UnwatchCommand("3")
    assert "not a watch id" in user_error("unwatch x!").message
    assert parse_command("history sales") == types.HistoryCommand("sales", 10)
    assert parse_command("history sales 50") == types.HistoryCommand("sales", 50)
    for bad in ("0", "51", "ten"):
        assert "from 1 to 50" in user_error(f"history sales {bad}").message
    assert "`history` needs a notebook" in user_error("history").message
