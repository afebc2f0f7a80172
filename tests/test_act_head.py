"""The act head and one act per sentence (README: the act head): an act the item heads
each read too weakly stands as the item it is most like; two act items on one sentence
keep only the ones that read about as sure as the best."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from notesplugin.checklists import load
from notesplugin.checklists.engine import Engine
from notesplugin.learned.model import Model, ModelError
from notesplugin.learned.reader import Reader
from notesplugin.learned.train import ACT, act_floor, mark_acts
from notesplugin.model import Note

ROOT = Path(__file__).resolve().parent.parent
RAW = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
ACTS = ["R1", "R2", "R3", "R4", "R5", "R6"]
TEXT = ("Client sobbed as she described her father's funeral. I told her he was at peace now and "
        "then we went over her schedule for the week.")


def note(text: str = TEXT) -> Note:
    return Note(note_id="n", file="t", text=text, date="2026-03-02", clinician="Dana Whitfield, LPC")


def with_act(raw: dict, *, act_bias: float, floor: float | None, gap: float = 1.0) -> dict:
    """The shipped model with an act head whose reading is its bias alone (no act weights)."""
    raw = {k: v for k, v in raw.items()}
    if ACT not in raw["labels"]:
        raw["labels"] = raw["labels"] + [ACT]
        raw["bias"] = raw["bias"] + [act_bias]
    else:
        raw["bias"] = [act_bias if lab == ACT else b for lab, b in zip(raw["labels"], raw["bias"])]
        col = raw["labels"].index(ACT)
        raw["weights"] = {f: [x for x in row if x[0] != col] for f, row in raw["weights"].items()}
    raw["thresholds"] = dict(raw["thresholds"], **{ACT: 0.5})
    raw["act"] = {"items": ACTS, "gap": gap, "floor": floor}
    return raw


def test_the_act_items_are_marked_in_the_checklist_data():
    items = {i.id: i for i in load().items}
    assert [i for i in ACTS if items[i].act] == ACTS
    assert not items["R7"].act and not any(items[f"C{k}"].act for k in range(1, 6))


def test_an_act_head_naming_an_unknown_item_is_refused():
    raw = with_act(RAW, act_bias=0.0, floor=-1.0)
    raw["act"] = dict(raw["act"], items=ACTS + ["R99"])
    with pytest.raises(ModelError, match="act head"):
        Model.from_dict(raw)


def reading(raw: dict, text: str = TEXT):
    engine = Engine(model=Reader(Model.from_dict(raw)))
    n = note(text)
    sents, _, ndate = engine._prepare(n)
    return engine, engine.model.read(engine, n, sents, ndate)


def test_an_act_no_item_reaches_stands_as_the_item_it_is_most_like():
    # Raise every act item's threshold out of reach: no item head can flag the act sentence.
    high = dict(RAW, thresholds={k: (0.999999 if k in ACTS else v) for k, v in RAW["thresholds"].items()})
    engine, r = reading(with_act(high, act_bias=10.0, floor=-100.0))
    acts = [f for f in r.rescuing(engine.rescuing, ()) if "an act" in (f.reason or "")]
    assert acts, "the act head reads the sentence as an act"
    k = next(i for i, s in enumerate(r.sents) if s.start == acts[0].start)
    assert acts[0].item == max(ACTS, key=lambda i: (r.margin(k, i), i))  # the item it reads most like
    assert acts[0].made_by == "model" and f"most like {acts[0].item}" in acts[0].reason
    # No floor in the model: the fallback is off. An act head that does not fire: nothing either.
    assert not [f for f in Engine(model=Reader(Model.from_dict(with_act(high, act_bias=10.0, floor=None)))).check(note())
                if "an act" in (f.reason or "")]
    assert not [f for f in Engine(model=Reader(Model.from_dict(with_act(high, act_bias=-10.0, floor=-100.0)))).check(note())
                if "an act" in (f.reason or "")]
    # A floor the item reads below: it does not stand.
    engine, r = reading(with_act(high, act_bias=10.0, floor=0.0))
    assert not [f for f in r.rescuing(engine.rescuing, ()) if "an act" in (f.reason or "")]


def test_the_act_head_does_not_speak_for_a_client_only_sentence():
    text = "Client sobbed about her father's funeral. She changed the subject to her schedule for the week."
    high = dict(RAW, thresholds={k: (0.999999 if k in ACTS else v) for k, v in RAW["thresholds"].items()})
    engine, r = reading(with_act(high, act_bias=10.0, floor=-100.0), text)
    got = [f for f in r.rescuing(engine.rescuing, ()) if "an act" in (f.reason or "")]
    assert not [f for f in got if f.start == r.sents[1].start]  # who acted is logic, not the act head


def test_one_sentence_keeps_one_act_unless_two_read_about_as_sure():
    text = "Client sobbed about her father's funeral. I told her he was at peace and gave her a grief worksheet."
    engine, r = reading(with_act(RAW, act_bias=-30.0, floor=None, gap=100.0), text)
    both = [f for f in engine.check(note(text)) if f.checklist == "rescuing" and f.item in ACTS]
    on = {}
    for f in both:
        on.setdefault(f.start, set()).add(f.item)
    start, items = next((s, i) for s, i in on.items() if len(i) > 1)  # two act items on the act sentence
    k = next(j for j, s in enumerate(r.sents) if s.start == start)
    best = max(items, key=lambda i: r.margin(k, i))
    strict = Engine(model=Reader(Model.from_dict(with_act(RAW, act_bias=-30.0, floor=None, gap=0.0))))
    kept = {f.item for f in strict.check(note(text)) if f.start == start and f.item in ACTS}
    assert kept == {i for i in items if r.margin(k, i) >= r.margin(k, best)} == {best}


def test_mark_acts_labels_a_sentence_an_act_only_when_the_act_items_say_so():
    rows = [("s", 0, [], {"R1": 1, "R2": 0}), ("s", 0, [], {lab: 0 for lab in ACTS}), ("s", 0, [], {"R1": 0}),
            ("s", 0, [], {"R7": 1, **{lab: 0 for lab in ACTS}})]
    mark_acts(rows, ACTS)
    assert [r[3].get(ACT) for r in rows] == [1, 0, None, 0]  # R7 is not one of the acts


def test_the_act_floor_is_learned_on_out_of_fold_scores():
    # Four notes with an R1 whose R1 reading sits just under its threshold while the act head is sure,
    # one clean note where the act head is sure and R1 reads low: a floor of -1.0 gains four, costs none.
    th = {lab: 0.8 for lab in ACTS} | {ACT: 0.9}
    near = {lab: 0.05 for lab in ACTS} | {"R1": 0.7, ACT: 0.95}  # R1: log-odds -0.54 under its threshold
    far = {lab: 0.05 for lab in ACTS} | {"R1": 0.2, ACT: 0.95}   # -2.8 under
    rows = [("set", n, ["w:x", "f:t"]) for n in range(5)]
    oof = [near] * 4 + [far]
    labeled = [{"rescuing": ["R1"], "exempt": [], "crisis": []}] * 4 + [{"rescuing": [], "exempt": [], "crisis": []}]
    assert act_floor(rows, oof, [("set", labeled)], th, ACTS) == -1.0  # -0.5 is not reached; -3.0 costs the clean note
    # When the item heads already find every R1, the floor can only add the clean note's act: none.
    hit = {lab: 0.05 for lab in ACTS} | {"R1": 0.9, ACT: 0.95}
    assert act_floor(rows, [hit] * 4 + [far], [("set", labeled)], th, ACTS) is None


def test_a_practice_correction_teaches_the_act_head_too():
    # "not R1" on a sentence: the act head learns "no act" there, or the act head would bring the
    # corrected flag back as the item the sentence reads most like; "missed R4" beside a "not R1"
    # on one sentence: an act.
    from notesplugin.learned.adapt import act_examples
    ex = [{"item": "R1", "label": 0, "feats": ["w:a"], "note": "n", "sentence": "s1"},
          {"item": "R1", "label": 0, "feats": ["w:b"], "note": "n", "sentence": "s2"},
          {"item": "R4", "label": 1, "feats": ["w:b"], "note": "n", "sentence": "s2"},
          {"item": "R7", "label": 1, "feats": ["w:c"], "note": "n", "sentence": "s3"}]
    got = act_examples(ex, ACTS)
    assert [(e["sentence"], e["item"], e["label"]) for e in got] == [("s1", ACT, 0), ("s2", ACT, 1)]


def test_explain_names_the_act_head_for_its_items_only():
    from click.testing import CliRunner
    from notesplugin.cli import main
    if not (RAW.get("act") or {}).get("floor"):
        pytest.skip("the shipped model has no act head floor")
    out = CliRunner().invoke(main, ["explain", "R4"]).output
    assert "Act head:" in out and f"{-RAW['act']['floor']:.1f} log-odds below" in out, out
    assert "Act head:" not in CliRunner().invoke(main, ["explain", "R7"]).output
