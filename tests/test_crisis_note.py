"""The crisis note head: the whole note's words say whether it is a crisis note; a sentence
still carries the finding, and the rules' logic (recency) still decides whether it may stand."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from notesplugin.checklists.engine import Engine
from notesplugin.learned.features import note_terms
from notesplugin.learned.model import Model, ModelError
from notesplugin.learned.reader import Reader
from notesplugin.model import Note

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text(encoding="utf-8"))


def engine_with(head: dict, sentence_heads: bool = True, rules: bool = False) -> Engine:
    """The shipped model with a stated note head; rules off, so only the model finds a crisis.
    sentence_heads=False: no crisis sentence reading ever reaches its threshold alone."""
    data = dict(SHIPPED, crisis_note={"bias": 0.0, "veto": 0.1, "adds": 0.7, "min_terms": 5, "max_terms": 400, "weights": {}, **head})
    if not sentence_heads:
        data["thresholds"] = {k: (1.0 if k.startswith("C") else v) for k, v in data["thresholds"].items()}
    return Engine(model=Reader(Model.from_dict(data)), cues=rules)


def crisis(engine: Engine, text: str) -> list:
    note = Note(note_id="n", file="t", text=text, date="2026-03-02", clinician="Dana Whitfield, LPC")
    return [f for f in engine.check(note) if f.checklist == "crisis"]


def test_the_shipped_model_has_a_note_head_within_its_bounds():
    head = Model.from_dict(SHIPPED).crisis_note
    assert head and 0 < head["veto"] < head["adds"] < 1 and head["weights"]


def test_a_note_read_as_a_crisis_gets_its_likeliest_sentence():
    sure = engine_with({"bias": -10.0, "weights": {"ambulance": 300.0}}, sentence_heads=False)
    text = ("Client rang from the car park in tears. She said she had taken all of her tablets about an hour "
            "before ringing. Ambulance called, stayed on the line until crew arrived.")
    found = crisis(sure, text)
    assert len(found) == 1 and found[0].made_by == "model" and "whole note" in found[0].reason
    assert found[0].evidence.startswith("She said she had taken all of her tablets")
    # the same note without the head's word is no crisis note: nothing is added
    assert not crisis(sure, text.replace("Ambulance called", "Plan agreed"))


def test_recency_still_rules_what_the_note_head_adds():
    sure = engine_with({"bias": -10.0, "weights": {"ambulance": 300.0}}, sentence_heads=False)
    old = ("She took all of her tablets in March 2019 and an ambulance took her to hospital then. "
           "Today she talked about her new job.")
    assert not crisis(sure, old)
    assert crisis(sure, old.replace(" in March 2019", "").replace(" then", ""))  # undated: it stands


def test_a_note_read_as_no_crisis_keeps_none():
    plan = "She said she has a plan to take all of her tablets tonight and has them in her bag."
    assert crisis(engine_with({"bias": 0.0}), plan)  # p 0.5: between veto and adds, the sentence stands
    assert not crisis(engine_with({"bias": -10.0}), plan)  # p under the veto
    # a note longer than the head knows: it abstains, and the sentence reading stands
    assert crisis(engine_with({"bias": -10.0, "max_terms": 10}), plan)
    assert crisis(engine_with({"bias": -10.0, "min_terms": 100}), plan)  # and on a line shorter than it knows


def test_note_terms_are_words_and_pairs_once():
    assert note_terms("Called 999. Called 999 again.") == sorted({"called", "tel999", "again", "called_tel999",
                                                                   "tel999_called", "tel999_again"})


@pytest.mark.parametrize("head", [{"bias": 0, "veto": 0.8, "adds": 0.5, "min_terms": 5, "max_terms": 400, "weights": {}},
                                  {"bias": 0, "veto": 0.1, "adds": 0.7, "min_terms": 5, "max_terms": 400},
                                  {"bias": 0, "veto": 0.1, "adds": 0.7, "weights": {}},
                                  {"bias": 0, "veto": 0.1, "adds": 0.7, "max_terms": 400, "weights": {}}])
def test_a_bad_note_head_is_refused(head):
    with pytest.raises(ModelError):
        Model.from_dict(dict(SHIPPED, crisis_note=head))


def test_an_item_the_checklist_keeps_from_the_note_veto_keeps_its_rule_finding():
    # note_veto = false in an item's checklist entry: a rule's finding of it stands whatever the note head
    # reads; an item without it (C3 here, C1 as shipped) goes with the note
    from dataclasses import replace

    from notesplugin.checklists import load
    lists = load()
    lists.items = [replace(i, note_veto=False) if i.id == "C1" else i for i in lists.items]
    data = dict(SHIPPED, crisis_note={"bias": -10.0, "veto": 0.1, "adds": 0.7, "min_terms": 5, "max_terms": 400,
                                      "weights": {}})
    kept = Engine(lists, model=Reader(Model.from_dict(data)))
    plan = "Client endorses SI with a plan to overdose on her stored pills tonight."
    both = plan + " Client disclosed her partner hit her last night and she is afraid to go home tonight."
    assert [f.item for f in crisis(kept, both)] == ["C1"]
    assert not crisis(engine_with({"bias": -10.0}, rules=True), both)  # as shipped: the note goes whole


def test_a_sentence_read_as_the_writers_own_statement_is_no_act():
    # R7 (act = false: what the writer records about themself) reads like an act to the act head
    # ("I ... so I stuck to ..."); where an item that is no act reads the sentence, the act head adds nothing
    def acts(r7_threshold):
        data = json.loads(json.dumps(SHIPPED))
        data["thresholds"].update({"act": 0.0, "R7": r7_threshold})
        data["act"]["floor"] = -100.0
        engine = Engine(model=Reader(Model.from_dict(data)), cues=False)
        note = Note(note_id="n", file="t", date="2026-03-02", clinician="Dana Whitfield, LPC", text=(
            "Client cried about her mother's death. I'm not a bereavement person and I hadn't a clue what to say, "
            "so I stuck to the things I could sort."))
        return {f.item for f in engine.check(note) if f.made_by == "model" and "an act" in f.reason}
    assert acts(1.0)  # R7 unread: the act head makes it the act item it reads most like
    assert not acts(0.0)


def test_explain_names_the_note_head_for_crisis_items_only():
    from click.testing import CliRunner

    from notesplugin.cli import main
    head = SHIPPED["crisis_note"]
    out = CliRunner().invoke(main, ["explain", "C3"]).output
    assert "Crisis note head" in out and f"under p {head['veto']:.2f}" in out and f"{head['adds']:.2f} up" in out, out
    assert "Crisis note head" not in CliRunner().invoke(main, ["explain", "R3"]).output
