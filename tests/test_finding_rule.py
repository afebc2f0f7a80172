"""Design debt of issue 12: a finding names the rule that made it and the engine
stage, in findings.jsonl and in `explain --trace`."""
from __future__ import annotations

import json

from click.testing import CliRunner

from notesplugin import pipeline
from notesplugin.checklists import load
from notesplugin.checklists.engine import Engine
from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.model import Note

TEXT = ("Client cried about her mother's death. I told her it would all be fine and moved on. "
        "Client swallowed 30 pills last night.")


def test_rules_findings_name_the_cue_that_made_them():
    lists = load()
    found = Engine(lists, model=False).check(Note("n", "f.csv", TEXT, date="2026-01-05"))
    assert found
    for f in found:
        item_id, cue = f.rule.split(" ")
        assert item_id == f.item and f.stage == f"{f.checklist}-rules"
        n = int(cue.removeprefix("cues[").removesuffix("]"))
        pattern = lists.get(f.item).cues[n]
        assert pattern.search(f.evidence), (f.rule, f.evidence)  # that very cue matches the evidence


def test_findings_jsonl_carries_rule_and_stage(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.csv").write_text(f'Note ID,Clinician,Date,Note\n1,Dr A,2026-01-05,"{TEXT}"\n')
    pipeline.scan([src], tmp_path / "out", Config(), ledger=False, summary=False)
    rows = [json.loads(x) for x in (tmp_path / "out" / "findings.jsonl").read_text().splitlines()]
    assert rows and all(r["rule"].startswith(r["item"] + " ") and r["stage"] for r in rows)
    assert {r["stage"] for r in rows} >= {"crisis-rules", "rescuing-rules"}


def test_explain_trace_names_rule_stage_and_dropped_cues():
    text = ("Client cried about her mother's death. I told her it would all be fine and moved on. "
            "She said her sister told her it would all be fine.")
    r = CliRunner().invoke(main, ["explain", "R3", "--trace", text])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    made = [ln for ln in lines if " by R3 cues[" in ln]
    assert len(made) == 1 and "stage rescuing-rules" in made[0]
    assert any("matched, but a later check dropped it" in ln for ln in lines)
