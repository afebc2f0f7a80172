"""The learned half of judgement: plain-data weights, logic that overrules the
model, findings that say what made them, and a floor on sets never trained on."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from notesplugin.checklists.engine import Engine
from notesplugin.learned.corpus import load_set, run, score
from notesplugin.learned.model import Model, ModelError
from notesplugin.learned.reader import Reader, actor_allows, model_summary
from notesplugin.model import Note

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = tomllib.loads((ROOT / "corpus" / "manifest.toml").read_text())
ENGINE = Engine()


def check(text: str, date: str = "2026-03-02", clinician: str = "Dana Whitfield, LPC") -> list:
    return ENGINE.check(Note(note_id="n", file="t", text=text, date=date, clinician=clinician))


def test_shipped_model_is_plain_json_and_loads():
    raw = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
    model = Model.from_dict(raw)
    assert set(model.labels) == {f"R{i}" for i in range(1, 8)} | {f"C{i}" for i in range(1, 6)} | {"act"}
    assert model.act and model.act["items"] == [f"R{i}" for i in range(1, 7)]  # the act head (README)
    assert all(0 < t < 1 for t in model.thresholds.values())
    assert Reader.default() is not None and ENGINE.model is not None


@pytest.mark.parametrize("content, says", [
    (b"\x80\x04\x95\x00\x00\x00", "not valid JSON"),          # a pickle is refused, never run
    (b'{"format": "other"}', "not a notesplugin model"),
    (b'{"format": "notesplugin-linear/1", "labels": ["R1"]}', "malformed model"),
])
def test_a_bad_model_file_is_one_line_with_the_fix(tmp_path, content, says):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ModelError) as err:
        Model.load(path)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_weight_pointing_past_the_labels_is_refused():
    raw = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
    raw["weights"]["w:zzz"] = [[99, 1.0]]
    with pytest.raises(ModelError, match="out of range"):
        Model.from_dict(raw)


def test_every_finding_names_what_made_it():
    found = check("Client sobbed as she described her father's funeral. I told her he was at peace now and "
                  "that she had done everything right, then we went over her schedule for the week.")
    assert found
    for f in found:
        assert f.made_by in {"rules", "model", "rules+model"}
        assert f.evidence and f.to_dict()["made_by"] == f.made_by
    model_made = [f for f in found if "model" in f.made_by]
    assert all("[model" in f.reason for f in model_made if f.made_by == "model")


def test_the_model_is_overruled_when_only_the_client_acts():
    assert not actor_allows(["f:o", "f:s:o", "w:changed"])
    assert actor_allows(["f:o", "f:t", "w:changed"])           # the clinician is named too
    assert actor_allows(["f:passive", "f:o"])                  # "she was told ..." is done to her
    assert not actor_allows(["f:t", "f:said:client"])          # a "Cl: ..." line is the client's words


def test_a_terse_note_that_drops_the_writer_is_the_writers_act():
    from notesplugin.learned.reader import note_features
    note = Note(note_id="n", file="t", date="2026-03-02", text=(
        "Pt tearful talking about the layoff and what he will tell his kids. "
        "Did not explore the layoff further and told him to raise the sleep issue with his PCP.\n"
        "Cl: did not want to talk about his dad."))
    sents, _, ndate = ENGINE._prepare(note)
    feats = note_features(ENGINE, note, sents, ndate)
    assert "f:elided" in feats[1] and actor_allows(feats[1])      # "Did not explore ... told him": the writer
    assert "f:elided" not in feats[0] and "f:elided" not in feats[2]  # the client's own line stays the client's
    assert not actor_allows(feats[2])


def test_a_bulleted_act_and_wr_are_the_writers():
    from notesplugin.learned.reader import note_features
    note = Note(note_id="n", file="t", date="2026-03-02", client="Wen", text=(
        "Wen got louder about HR and his manager.\n- Ended session ~15 min early once he started up again.\n"
        "Wr told him he would feel better after a weekend off.\nWalked him through paced breathing."))
    sents, _, ndate = ENGINE._prepare(note)
    feats = note_features(ENGINE, note, sents, ndate)
    assert "f:elided" in feats[1] and actor_allows(feats[1])  # a bullet, then the writer's verb
    assert "f:t" in feats[2] and actor_allows(feats[2])  # "Wr": the writer
    assert "f:elided" in feats[3]
    assert "f:elided" not in feats[0] and not actor_allows(feats[0])  # the client's own act


def test_speaker_lines_say_who_acted():
    from notesplugin.learned.reader import note_features
    note = Note(note_id="n", file="t", date="2026-03-02", clinician="Dana Whitfield, LPC", client="Sam Ortiz",
                text=("Session excerpt from the recording:\n"
                      "[00:12:04] Sam: I keep thinking about the funeral and I can't stop crying.\n"
                      "[00:12:31] Dana: Let's look at your sleep log instead.\n"
                      "T: We can wrap up here for today.\n"
                      "<v Sam Ortiz>Can we talk about something else?</v>"))
    sents, _, ndate = ENGINE._prepare(note)
    feats = dict(zip((s.text for s in sents), note_features(ENGINE, note, sents, ndate)))
    line = {k: next(s for s in sents if k in s.text) for k in ("funeral", "sleep log", "wrap up", "something else")}
    for k in ("sleep log", "wrap up"):  # the clinician by name, and "T:"
        s = line[k]
        assert s.clinician_line and not s.client_line and "f:said:clin" in feats[s.text] and actor_allows(feats[s.text])
    for k in ("funeral", "something else"):  # the client by first name after a timestamp, and Teams' <v Name>
        s = line[k]
        assert s.client_line and "f:said:client" in feats[s.text] and not actor_allows(feats[s.text])


def test_topic_is_the_issue_the_note_is_about_not_a_word_in_the_act():
    # The act's sentence names a husband, the note is about a death: grief, not relationship.
    found = check("Wilma, 79, came in six weeks after her husband Frank died in hospice. She cried describing "
                  "how she still sets out two coffee cups every morning and cannot bring herself to give away "
                  "his coats. Writer assured her that Frank would want her to be happy and that she had been a "
                  "wonderful wife, so there was no need to be so sad. Then moved to her plans for the holidays.")
    flagged = [f for f in found if f.checklist == "rescuing" and f.status == "flagged"]
    assert flagged and {f.topic for f in flagged} == {"grief"}, [(f.item, f.topic, f.made_by) for f in flagged]


def test_anger_at_work_is_anger():
    found = check("Client was furious, red in the face and clenching his fists, as he described being passed over "
                  "for the promotion again while a younger colleague got it. I told him it was probably not personal "
                  "and that the next round would surely go his way, and we moved on to his weekend plans.")
    flagged = [f for f in found if f.checklist == "rescuing" and f.status == "flagged"]
    assert flagged and {f.topic for f in flagged} == {"anger"}, [(f.item, f.topic, f.made_by) for f in flagged]
    assert not [f for f in found if f.checklist == "crisis"]  # anger in the body is not shock


def test_an_unchecked_box_says_nothing_happened():
    note = "Telehealth video. Risk: [x] denies SI [x] denies HI [ ] SI w/ plan [ ] HI w/ target\nPlan: RTC 1 wk."
    assert not [f for f in check(note) if f.checklist == "crisis"]


def test_a_client_line_is_not_the_clinicians_discomfort():
    found = check("Cl: I feel totally out of my depth with this and I have no training for any of it.\n"
                  "Me: That sounds really heavy.")
    assert "R7" not in {f.item for f in found}


def test_recency_overrules_the_words():
    old = check("Pt overdosed on her mother's pills in March 2019 and was hospitalized for a week. "
                "Denies SI/HI today; future oriented.")
    assert not [f for f in old if f.item == "C1"]


def test_explain_says_what_the_model_weighs():
    summary = model_summary("R3")
    assert summary and summary["for"] and summary["against"] and 0 < summary["threshold"] < 1


def test_explain_names_features_in_words_not_internal_keys():
    from notesplugin.learned.reader import _readable
    model = Reader.default().model
    group = next(f[2:] for f in model.weights if f.startswith("c:"))
    assert _readable("c:" + group, model).startswith("words like ")
    assert _readable("f:s:o") == "someone else is its subject" and _readable("s:reass") == "reass..."
    for item in ("R1", "R3", "R7", "C1"):
        shown = model_summary(item)["for"] + model_summary(item)["against"]
        assert not [x for x in shown if x.startswith(("c ", "fact ", "s ", "f "))], shown


@pytest.mark.parametrize("name", MANIFEST.get("holdout", []))
def test_floor_on_sets_never_trained_on(name):
    assert name not in MANIFEST["train"], f"{name} is both trained on and held out"
    floor = MANIFEST["floor"][name]
    got = score(load_set(ROOT / name), run(ENGINE, load_set(ROOT / name)))
    assert got["rescuing"]["f1"] >= floor["rescuing_f1"], got
    assert got["crisis_notes"]["f1"] >= floor["crisis_f1"], got
    assert got["leaks"] <= floor["leaks"], got
    assert got["topic"] >= floor.get("topic", 0.0), got


def test_a_two_digit_year_is_read_as_the_readers_read_it():
    # "3/4/98" was read as 2098: not in the past, so no age, so a 1998 attempt counted as current.
    from datetime import date
    assert Engine.age_days("Suicide attempt by overdose 3/4/98, hospitalized.", date(2026, 3, 2)) > 10_000
    found = check("Suicide attempt by overdose 3/4/98, hospitalized. Client tearful about her divorce; "
                  "writer told her it was all behind her now.")
    assert not [f for f in found if f.checklist == "crisis"]


def test_the_version_names_the_weights_that_judged():
    import re
    assert re.search(r"\+model:[0-9a-f]{12}$", ENGINE.version)
    assert Engine(model=False).version == ENGINE.checklists.version


def test_run_json_says_which_model_judged(tmp_path):
    from notesplugin.config import Config
    from notesplugin.pipeline import scan

    scan([ROOT / "sample_notes" / "telehealth_notes.csv"], tmp_path / "out", Config(), ledger=False)
    judged = json.loads((tmp_path / "out" / "run.json").read_text())["judgement"]
    assert judged["model"]["fingerprint"] and judged["model"]["trained_on_notes"] > 1000
    assert judged["version"].endswith(judged["model"]["fingerprint"])


def test_word_groups_are_plain_data_the_model_was_trained_with():
    from notesplugin.learned.features import CLUSTERS, clusters, clusters_fingerprint
    raw = json.loads((ROOT / "notesplugin" / CLUSTERS).read_text())
    assert raw["format"] == "notesplugin-word-clusters/1"
    assert all(isinstance(g, int) and 0 <= g < raw["meta"]["k"] for g in raw["clusters"].values())
    # Retrained with other groups, the weights of "c:"/"dc:" features would mean nothing.
    assert Reader.default().model.meta["clusters"] == clusters_fingerprint()
    # The table covers every word of the sets it names (its inputs), so the command can remake it.
    from notesplugin.learned.features import is_number, tokens
    words = {t for name in raw["meta"]["sets"] for line in (ROOT / name).read_text().splitlines() if line.strip()
             for t in tokens(json.loads(line)["text"]) if not is_number(t)}
    assert words <= set(clusters())


def test_word_groups_so_an_unseen_word_counts_by_its_neighbours():
    from notesplugin.learned.features import clusters, sentence_features, topic_features
    table = clusters()
    assert table["bereaved"] == table["grief"]  # one group: a note saying only "bereaved" still reads as grief
    # The items read the sentence's own words' groups (v21); the topic those and the whole note's.
    own = sentence_features(("bereaved",), (), [], (), "", ())
    assert "c:" + table["bereaved"] in own
    feats = topic_features(own, ["bereaved", "widow"])
    assert "c:" + table["bereaved"] in feats and "dc:" + table["bereaved"] in feats
    unknown = topic_features(sentence_features(("zzzq",), (), [], (), "", ()), ["zzzq"])
    assert not any(f.startswith(("c:", "dc:")) for f in unknown)


def test_the_model_vetoes_a_rules_only_act_it_is_sure_is_none():
    # "moved to the homework review" matches an R4 cue (a task while the emotion was unexplored);
    # the model reads it as a redirect (R1), and gives R4 almost nothing: under R4's veto, learned
    # on out-of-fold scores, so the rules' R4 does not stand. Without the veto it does.
    from notesplugin.learned.model import Model
    text = "Client sobbed about her father's death. Therapist moved to the homework review."
    raw = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
    assert 0 < raw["vetoes"]["R4"] < raw["thresholds"]["R4"]
    items = lambda engine: {(f.item, f.made_by) for f in engine.check(
        Note(note_id="n", file="t", text=text, date="2026-03-02", clinician="Dana Whitfield, LPC"))
        if f.checklist == "rescuing"}
    assert ("R4", "rules") not in items(ENGINE)
    note = Note(note_id="n", file="t", text=text, date="2026-03-02", clinician="Dana Whitfield, LPC")
    sents, _, ndate = ENGINE._prepare(note)
    p = ENGINE.model.read(ENGINE, note, sents, ndate).probs[1]
    assert p["R4"] < raw["vetoes"]["R4"] < p["R1"]  # a redirect to the model, not a fix
    no_veto = Engine(model=Reader(Model.from_dict({**raw, "vetoes": {}})))
    assert ("R4", "rules") in items(no_veto)


def test_an_item_marked_model_veto_false_keeps_its_rule_finding():
    # C1 (crisis.toml: model_veto = false): training gives it no veto, and even a veto forced on it
    # leaves the rules' finding; C3, which may be vetoed, loses its rules' findings to the same veto.
    from notesplugin.learned.model import Model
    raw = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
    assert "C1" not in raw["vetoes"] and any(c in raw["vetoes"] for c in ("C2", "C3", "C4", "C5"))
    silent = {**raw, "bias": [-30.0] * len(raw["labels"])}  # the model gives every sentence ~0
    forced = Engine(model=Reader(Model.from_dict({**silent, "vetoes": {"C1": 0.5, "C3": 0.5}})))
    unforced = Engine(model=Reader(Model.from_dict({**silent, "vetoes": {}})))
    item = {i.id: i for i in ENGINE.checklists.items}
    def found(engine, text, iid):
        note = Note(note_id="n", file="t", text=text, date="2026-03-02", clinician="Dana Whitfield, LPC")
        return any(f.item == iid for f in engine.check(note))
    for iid, stands in (("C1", True), ("C3", False)):
        hits = [t for t in item[iid].flag if found(unforced, t, iid)]
        assert hits, iid
        assert all(found(forced, t, iid) == stands for t in hits), iid


def test_explain_names_the_items_veto():
    from click.testing import CliRunner
    from notesplugin.cli import main
    raw = json.loads((ROOT / "notesplugin" / "data" / "model.json").read_text())
    out = CliRunner().invoke(main, ["explain", "R1"]).output
    assert f"dropped when the model gives it p < {raw['vetoes']['R1']:.2f}" in out, out
    none = next(i for i in ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "C1") if i not in raw["vetoes"])
    assert "dropped when" not in CliRunner().invoke(main, ["explain", none]).output  # an item with none


def test_the_threshold_rules_pick_from_the_out_of_fold_curve():
    """near-best: the highest threshold within a point of the best F1; smoothed: the best F1
    averaged with its grid neighbours (README: the threshold rule, tested blind)."""
    from notesplugin.learned.train import thresholds
    # C1 out of fold: five positives at 0.9, five at 0.6; five negatives at 0.58, two at 0.88.
    # F1 by threshold: <= 0.55 -> 0.741, 0.60 -> 0.909 (the peak), 0.65-0.85 -> 0.588, 0.90 -> 0.667.
    scores = [(0.9, True)] * 5 + [(0.6, True)] * 5 + [(0.58, False)] * 5 + [(0.88, False)] * 2
    labeled = [{"rescuing": [], "exempt": [], "crisis": ["C1"] if pos else []} for _, pos in scores]
    rows = [("set", n, ["w:x"]) for n in range(len(scores))]
    oof = [{"C1": p} for p, _ in scores]
    assert thresholds(rows, oof, [("set", labeled)])["C1"] == 0.6
    # smoothed: 0.55 averages 0.741, 0.741, 0.909 (0.797); 0.60 averages 0.741, 0.909, 0.588 (0.746)
    assert thresholds(rows, oof, [("set", labeled)], rule="smoothed")["C1"] == 0.55


def test_service_numbers_are_words_other_digits_only_their_length():
    from notesplugin.learned.features import tokens
    # "rang 000" (Australia) must not look like a blood pressure of 113, nor 999 like 123.
    assert tokens("rang 000, BP 113") == ("rang", "tel000", "bp", "000")
    assert tokens("called 911 then 988") == ("called", "tel911", "then", "tel988")
    assert tokens("took 123 steps") == ("took", "000", "steps")


def test_a_review_of_systems_denial_is_no_model_crisis(monkeypatch):
    from notesplugin.learned import reader as learned_reader

    text = ("He denies chest pain, shortness of breath, fainting, bleeding gums, vomiting blood, "
            "throat swelling or arm numbness.")
    note = Note(note_id="ros", file="f", text=text)
    assert not [f for f in Engine().check(note) if f.checklist == "crisis"]
    # The guard is what keeps it out: the model alone reads an emergency in those words.
    monkeypatch.setattr(learned_reader.NoteReading, "_words_modified", lambda *a: False)
    assert [f.item for f in Engine().check(note) if f.checklist == "crisis" and f.made_by == "model"] == ["C3"]


def test_a_denial_does_not_hide_what_follows_but():
    text = ("Client denies wanting to die but said she has been saving her mother's sleeping pills "
            "and plans to take them all tonight.")
    got = {f.item for f in Engine().check(Note(note_id="but", file="f", text=text)) if f.checklist == "crisis"}
    assert "C1" in got
