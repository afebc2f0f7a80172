"""The checklists as data: every item's own examples, strict loading, and the
engine's judgement on who acted, exemption and topic."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from notesplugin.checklists import ChecklistError, load
from notesplugin.checklists.engine import Engine
from notesplugin.checklists.selftest import run_examples
from notesplugin.cli import main
from notesplugin.model import Note, Segment

LISTS = load()
ENGINE = Engine(LISTS)


def found(text: str, date: str = "2026-03-02", clinician: str = "Dana Whitfield, LPC", client: str = "Alicia M."):
    note = Note(note_id="t", file="t", text=text, date=date, clinician=clinician, client=client)
    return {(f.item, f.status) for f in ENGINE.check(note)}


def items(text: str, **kw) -> set[str]:
    return {i for i, _ in found(text, **kw)}


@pytest.mark.parametrize("result", run_examples(LISTS), ids=lambda r: f"{r.item}-{r.kind}-{r.text[:30]}")
def test_every_item_example(result):
    assert result.passed, f"{result.item} {result.kind}: {result.text!r} found {result.got}"


def test_spec_ids_are_all_present():
    assert {i.id for i in LISTS.items} == {f"R{n}" for n in range(1, 8)} | {f"C{n}" for n in range(1, 6)}
    assert all(i.what and i.why and i.flag and i.ok for i in LISTS.items)


def test_client_changing_the_subject_is_not_rescuing():
    text = "Cl became tearful about her father. Cl changed the subject to her garden."
    assert "R1" not in items(text)
    assert "R1" in items("Cl became tearful about her father. Writer changed the subject to her garden.")


def test_act_after_coordination_belongs_to_the_clause_subject():
    # Two acts joined by "then" in one sentence: both stand (the rules and the model both read
    # each, so one act per sentence keeps the weaker one too).
    text = ("When cl began describing the funeral and started sobbing, writer reassured her that he is not "
            "suffering and that she did everything she could, then shifted focus to her work schedule.")
    assert {"R1", "R3"} <= items(text)
    assert "R1" not in items("She kept crying, and pt said \"let's not\" and then shifted focus to her work schedule.")


def test_good_practice_and_negated_acts_do_not_flag():
    text = "Pt sobbed about the divorce. Therapist did not redirect; she stayed with the grief and allowed silence."
    assert not items(text) & {"R1", "R2", "R3", "R4", "R5", "R6"}


def test_rescuing_needs_an_emotion_nearby():
    # The logic, on the rules' path: a cue with no difficult emotion in its window does not flag.
    # (A model reading stands without one only when it is sure, reader.SURE; v18 is sure of this
    # sentence, so the rules alone are asked here.)
    act = "Writer changed the subject to her job search."
    rules = Engine(LISTS, model=False)
    assert "R1" not in {f.item for f in rules.check(Note("n", "f", "Client reviewed her week. " + act))}
    assert "R1" in {f.item for f in rules.check(Note("n", "f", "Client was sobbing about her week. " + act))}


def test_crisis_makes_rescuing_exempt_but_r7_always_counts():
    text = ("Client disclosed she swallowed 20 tablets last night to die. She was sobbing. "
            "I reassured her everything would be fine. I felt out of my depth and have had no training in this.")
    got = found(text)
    assert ("C1", "present") in got
    assert ("R3", "exempt") in got
    assert ("R7", "flagged") in got


@pytest.mark.parametrize("text", [
    "Denies SI/HI, no plan or intent.",
    "SI/HI: denied.",
    "Hx of SA in 2019 by overdose.",
    "Her mother attempted suicide in 2010.",
    "If SI returns she will call 988.",
    "Risk: low. Safety plan reviewed, no changes.",
    "SI screen negative: no ideation, plan or intent.",
])
def test_routine_risk_lines_are_never_crisis(text):
    assert not {i for i in items(text) if i.startswith("C")}


def test_recency_from_dates_and_weekdays():
    # 2026-03-02 is a Monday: a crash on Saturday is two days old, one in 2019 is history.
    recent = "Pt survived a car crash on Saturday; the other driver died at the scene."
    old = "Pt survived a car crash in 2019; the other driver died at the scene."
    assert "C4" in items(recent)
    assert "C4" not in items(old)


E_DATE = __import__("datetime").date(2026, 3, 12)


def test_a_rating_written_like_a_date_is_no_time():
    # "intent 8/10" once read as last 10 August: the plan for tonight became history.
    rules = Engine(LISTS, model=False)
    note = Note(note_id="t", file="t", date="2026-01-12", clinician="D", client="A",
                text="cl endorses SI w plan to OD on about 60 saved seroquel tonight, pills in his nightstand, intent 8/10.")
    assert "C1" in {f.item for f in rules.check(note)}
    from notesplugin.checklists.engine import Engine as E
    assert E.age_days("SUDS 9/10, mood 2/5; mum with him 24/7.", E_DATE) is None
    assert E.age_days("SUDS 9/10; seen 3/10.", E_DATE) == (E_DATE - E_DATE.replace(day=10)).days
    # a month and a year ("attempt 09/2020") is a date too; a month not yet come is none
    assert E.age_days("Suicide attempt 09/2020, treated in hospital.", E_DATE) > 365
    assert E.age_days(f"Seen since {E_DATE.month:02d}/{E_DATE.year}.", E_DATE) is not None
    assert E.age_days(f"Due 12/{E_DATE.year + 1}.", E_DATE) is None
    # a day and a month name, with or without the year ("Acute SI with plan 14 Jul 2026")
    assert E.age_days("Acute SI with plan 14 Feb 2026 (see urgent review).", E_DATE) == 26
    assert E.age_days("Seen February 14, 2026.", E_DATE) == 26
    assert E.age_days("Cut her arm on 10 March.", E_DATE) == 2
    assert E.age_days("He took 2 may have been more.", E_DATE) is None  # the verb, not the month
    assert E.age_days("3 marks on her arm, 5 decades old.", E_DATE) is None
    # a day-first note swaps its dates, never its ratings
    from notesplugin.checklists.engine import _dates_month_first
    assert _dates_month_first("Seen 14/03, SUDS 9/10, intent 3/10.") == "Seen 03/14, SUDS 9/10, intent 3/10."


def test_a_note_whose_own_dates_are_day_first_is_read_day_first():
    from notesplugin.checklists.engine import _dates_month_first
    # "14/03" can only be day-first, so "07/03" in the same note is 7 March, not 3 July
    assert _dates_month_first("Seen 14/03. Fire on Sat 07/03/2026.") == "Seen 03/14. Fire on Sat 03/07/2026."
    assert _dates_month_first("Seen 03/14. Fire on 07/03.") == "Seen 03/14. Fire on 07/03."  # month-first evidence
    assert _dates_month_first("Fire on 07/03.") == "Fire on 07/03."  # no evidence: the practice's order
    assert _dates_month_first("Fire on 07/03.", day_first=True) == "Fire on 03/07."
    assert _dates_month_first("14/03 and 03/14", day_first=True) == "03/14 and 14/03"  # both: the practice's
    # a UK note: a fire on 7 March, three days before the session, is recent (C4); read as 3 July it was history
    rules = Engine(LISTS, model=False)
    note = Note(note_id="t", file="t", date="2026-03-10", clinician="D", client="A", text=(
        "Seen 14/01 for intake. Her block was in the fire on Sat 07/03; she got out with her two kids and the flat is gutted."))
    assert "C4" in {f.item for f in rules.check(note)}


def test_a_weekday_beside_a_date_says_its_order():
    from datetime import date
    from notesplugin.checklists.engine import _dates_month_first
    # 3 April 2026 was a Friday, 4 March a Wednesday: "Friday 03/04" is day-first
    assert _dates_month_first("Bus crash on Friday 03/04.", note_date=date(2026, 4, 7)) == "Bus crash on Friday 04/03."
    assert _dates_month_first("Fire Saturday night (9/5).", note_date=date(2026, 5, 11)) == "Fire Saturday night (5/9)."
    # 3 March 2026 was a Tuesday: "Tue 3/3" says nothing; "Wed 03/04" fits month-first only
    assert _dates_month_first("Seen Tue 3/3.", note_date=date(2026, 4, 7)) == "Seen Tue 3/3."
    assert _dates_month_first("Seen Wed 03/04.", note_date=date(2026, 4, 7)) == "Seen Wed 03/04."
    assert _dates_month_first("The month 03/04 report.", note_date=date(2026, 4, 7)) == "The month 03/04 report."
    # a UK house fire four days ago is recent (C4), not last November's
    rules = Engine(LISTS, model=False)
    note = Note(note_id="t", file="t", date="2026-04-14", clinician="D", client="A", text=(
        "House fire at her address Sat 11/04; she and her two kids got out and the council has put them in a hotel."))
    assert "C4" in {f.item for f in rules.check(note)}


def test_the_sessions_own_time_keeps_a_recent_event_current():
    rules = Engine(LISTS, model=False)

    def c3(text):
        note = Note(note_id="t", file="t", text=text, date="2026-02-03", clinician="D", client="A")
        return "C3" in {f.item for f in rules.check(note)}
    # a Sunday assault told beside tonight's danger is current; the same event alone is two days old
    assert c3("Her partner hit her on Sunday and she is not safe to go home tonight.")
    assert not c3("Her partner hit her on Sunday and she is not safe to go home.")
    # an anniversary is not: "today" beside an event of years ago
    from notesplugin.checklists.engine import still_current
    assert still_current(2, "on Sunday; terrified to go home tonight")
    assert not still_current(1100, "today is 3 years since the earthquake")
    assert still_current(7, "About 10 min in, while describing last week's exam, he had a panic attack")


def test_a_relatives_attempt_is_theirs_not_the_clients():
    rules = Engine(LISTS, model=False)

    def c1(text, client="Alicia M."):
        note = Note(note_id="t", file="t", text=text, date="2026-03-02", clinician="D", client=client)
        return "C1" in {f.item for f in rules.check(note)}
    # past ConText's window, the nearest subject says whose attempt it was
    assert not c1("His younger brother Eric (Army vet) was hospitalized Saturday after a suicide attempt.")
    assert not c1("D: Keisha's friend Dani (trans woman, 24) attempted suicide last Thurs and is in the ICU.")
    assert c1("Her brother found her after she attempted suicide on Saturday.")  # she: the client
    assert c1("Mom reports pt attempted suicide on Saturday.")
    assert c1("Alicia attempted suicide on Saturday.")  # the client's own name
    # a pronoun right after that person, of a sex it allows, is that person; else the client
    assert not c1("Mom shared that she was hospitalized Saturday after a suicide attempt.")
    assert not c1("His friend Marco texted Tuesday that he was going to kill himself.")
    assert c1("Her husband reports that she attempted suicide on Saturday.")  # she: not the husband
    assert c1("Mom shared that she found Alicia after a suicide attempt on Saturday.")  # the client named
    assert c1("Mom reports she found her on Saturday after a suicide attempt.")  # her: the client
    # a person a relative clause opens on is its subject, even after a preposition
    assert not c1("Alicia stayed up last Thursday with a friend who texted that she wanted to kill herself.")
    assert not c1("Wanted to talk about her friend Mia who was taken to A&E after a suicide attempt on Saturday.")
    assert c1("Alicia rang her best friend who drove over after she cut her wrist on Saturday.")  # she: a new subject
    assert not c1("He also talked about his son Rhodri, who self-harmed on Saturday when things were at their worst.")
    # a youth group is not a person: "Eli (from the youth group)" stays Eli
    assert not c1("Rowan's friend Eli (from the Tuesday youth group) was hospitalised Saturday after a suicide attempt.")


def test_a_screen_reads_its_own_negation():
    # the C-SSRS cue marks its event, so ConText reads "no" before it, as for any other cue
    rules = Engine(LISTS, model=False)

    def c1(text):
        note = Note(note_id="t", file="t", text=text, date="2026-03-02", clinician="D", client="A")
        return "C1" in {f.item for f in rules.check(note)}
    assert not c1("C-SSRS since last visit: no ideation, no behavior.")
    assert c1("C-SSRS since last visit: positive for ideation with intent.")
    assert c1("C-SSRS today: ideation with a plan for this weekend.")


def test_topic_follows_the_emotion_or_issue():
    note = Note(note_id="t", file="t", date="2026-03-02", clinician="Dana Whitfield, LPC", client="A",
                text="Cl sobbed describing her father's funeral. Writer changed the subject to her taxes.")
    assert {f.topic for f in ENGINE.check(note) if f.item == "R1"} == {"grief"}


def test_strict_loading_names_file_entry_and_fix(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "x"\ncues = ["(unclosed"]\n')
    with pytest.raises(ChecklistError, match=r'mine.toml: item #1 \(X1\) cues\[0\]: pattern "\(unclosed" does not compile'):
        load([bad])
    bad.write_text('checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "x"\ncues = ["a"]\ncolour = 1\n')
    with pytest.raises(ChecklistError, match="unknown key"):
        load([bad])
    bad.write_text('[[extend]]\nid = "R9"\ncues = ["x"]\n')
    with pytest.raises(ChecklistError, match="no item with id 'R9'"):
        load([bad])


def test_practice_file_extends_and_adds_items(tmp_path):
    own = tmp_path / "practice.toml"
    own.write_text(
        'checklist = "rescuing"\n'
        '[[extend]]\nid = "R3"\ncues = [\'\'\'\\bchin\\s+up\\b\'\'\']\n'
        'flag = ["She cried about the layoff. I told her chin up."]\n'
        '[[item]]\nid = "X1"\nname = "humor"\nwhat = "Jokes to lighten a hard moment."\nneeds_emotion = true\n'
        'cues = [\'\'\'\\bcracked\\s+a\\s+joke\\b\'\'\']\n'
        'flag = ["He was sobbing, so I cracked a joke."]\nok = ["He cracked a joke about his boss."]\n')
    lists = load([own])
    assert lists.get("X1") is not None
    assert all(r.passed for r in run_examples(lists))
    runner = CliRunner()
    res = runner.invoke(main, ["checklist", "test", str(own)])
    assert res.exit_code == 0, res.output
    assert " 0 failed" in res.output
    own.write_text(own.read_text().replace('ok = ["He cracked a joke about his boss."]',
                                           'ok = ["He was sobbing, so I cracked a joke again."]'))
    res = runner.invoke(main, ["checklist", "test", str(own)])
    assert res.exit_code == 1
    assert "FAIL X1 should not flag" in res.output


def test_checklist_test_reads_the_config_and_refuses_an_item_without_examples(tmp_path, monkeypatch):
    """First-use review: with no FILE, `checklist test` ignored the practice's files; an item with no
    flag example passed (as `doctor` said too)."""
    own = tmp_path / "practice.toml"
    own.write_text('checklist = "rescuing"\n[[item]]\nid = "X5"\nname = "untested"\n'
                   "cues = ['''\\bzorbled\\b''']\n")
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text('[checklists]\nfiles = ["practice.toml"]\n')
    res = CliRunner().invoke(main, ["checklist", "test", "--config", str(cfg)])
    assert res.exit_code == 1 and "FAIL X5 has no flag example" in res.output, res.output
    monkeypatch.chdir(tmp_path)  # the config found as a scan finds it
    res = CliRunner().invoke(main, ["checklist", "test"])
    assert res.exit_code == 1 and "X5" in res.output, res.output


def test_explain_and_show():
    runner = CliRunner()
    res = runner.invoke(main, ["explain", "r3"])
    assert res.exit_code == 0 and "R3 reassure" in res.output and "Why:" in res.output
    res = runner.invoke(main, ["explain", "R99"])
    assert res.exit_code == 2 and "R3 (reassure)" in res.output
    res = runner.invoke(main, ["explain", "Reassure"])  # by name, as corrections may say it
    assert res.exit_code == 0 and res.output.startswith("R3 reassure")
    res = runner.invoke(main, ["checklist", "show"])
    assert res.exit_code == 0 and "C5" in res.output and "R7" in res.output


def test_a_crisis_cue_may_name_its_event_so_the_anchor_reads_as_context(tmp_path):
    # The whole match as the target hides "presented" (a terminator) inside it, and the
    # "history of" before it reads as historical; with (?P<event>...) only "overdose" is the target.
    own = tmp_path / "practice.toml"
    body = ('checklist = "crisis"\n[[item]]\nid = "X9"\nname = "dictated"\n'
            'context = ["negated", "historical", "hypothetical"]\ncues = [\'\'\'{cue}\'\'\']\n')
    text = "A 40-year-old woman with a history of asthma, who presented to the ED after an overdose of her pills."
    seen = {}
    for kind, cue in (("event", r"\bpresented\b[^.]{0,40}?\bafter\s+an\s+(?P<event>overdose)\b"),
                      ("whole", r"\bpresented\b[^.]{0,40}?\bafter\s+an\s+overdose\b")):
        own.write_text(body.format(cue=cue))
        engine = Engine(load([own]), model=False)
        seen[kind] = {f.item for f in engine.check(Note(note_id="t", file="t", text=text, date="2026-03-02"))}
    assert "X9" in seen["event"] and "X9" not in seen["whole"]
    # still context: an old date or someone else's admission cancels it
    assert "C3" not in items("She has a history of depression and was admitted in 2011 after an overdose.")


@pytest.mark.parametrize("text, item", [
    ("She was admitted following an overdose of citalopram and warfarin.", "C3"),
    ("When he was found, he became combative.", "C2"),
    ("His ER course is notable for yelling, spitting, and striking multiple staff members.", "C2"),
    ("He had just come back from a trip and he became homicidal while there.", "C2"),
    ("He started having thoughts about killing his mother.", "C2"),
    ("Mother called the EMS service when the patient vomited.", "C3"),
])
def test_dictated_crisis_told_as_behaviour_or_reason_for_admission(text, item):
    assert item in items(text)


def test_a_rule_crisis_the_model_is_sure_is_not_one_is_vetoed():
    # The rules read an overdose being reversed in this held-out line (a naloxone cue); the shipped
    # model scores it under C3's veto (chosen on out-of-fold scores): teaching a parent to use
    # Narcan is no emergency. Alone, the rule's finding stands only without the model.
    text = "Narcan education given to mother."
    note = Note(note_id="t", file="t", text=text, date="2026-03-02")
    assert "C3" in {f.item for f in Engine(LISTS, model=False).check(note)}
    assert "C3" not in items(text)


@pytest.mark.parametrize("text", [
    "He is not homicidal in the hospital.",
    "Another patient on the unit assaulted a staff member; the client was frightened.",
    "Pt's daughter was admitted to an ICU over the weekend after an overdose; she is stable.",
    "Her stepfather hit her mother when she was a child.",
])
def test_dictated_look_alikes_are_not_crisis(text):
    assert not items(text) & {"C1", "C2", "C3"}


def test_the_emergency_room_as_a_place_is_not_an_emergency():
    # The shipped model reads "emergency" as C3; the item's own exception (an `unless`, which
    # binds model readings too) says the room a patient presented to is a place, not an event.
    place = ("This is a 69-year-old woman with a past medical history of diabetes and GERD who presents to the "
             "emergency room with complaints of inability to sleep and elevated mood over the past 3 days.")
    assert "C3" not in items(place)
    assert "C3" in items("A 40-year-old man with a history of asthma who presented to the emergency room "
                         "today after an overdose of his pills.")


def test_at_that_time_takes_the_time_of_the_sentence_before():
    then = "She stopped drinking, and at that time she made a suicide attempt by hanging."
    assert "C1" not in items("She was a heavy drinker until about 1998. " + then)
    assert "C1" not in items("She was a heavy drinker when she was 19. " + then)
    assert "C1" in items("Her husband left her last night. " + then)
    assert "C1" in items("She was a heavy drinker until about 1998. She made a suicide attempt by hanging last night.")


def test_unless_near_cancels_a_crisis_cue_from_the_next_sentence_only(tmp_path):
    own = tmp_path / "practice.toml"
    own.write_text('checklist = "crisis"\n[[item]]\nid = "X8"\nname = "mute"\n'
                   "cues = ['''\\bdid not answer\\b''']\nunless_near = ['''\\bsedated\\b''']\n"
                   '[[extend]]\nid = "C5"\nunless_near = [\'\'\'\\bpost-?ictal\\b\'\'\']\n')
    lists = load([own])
    engine = Engine(lists, model=False)

    def got(text):
        return {f.item for f in engine.check(Note(note_id="t", file="t", text=text, date="2026-03-02"))}

    assert "X8" in got("She did not answer.")
    assert "X8" not in got("She was sedated after the procedure. She did not answer.")
    assert "X8" not in got("She did not answer. She had been sedated.")
    assert "X8" in got("She was sedated in March. Her sister visited. She did not answer.")
    assert any(p.pattern == r"\bpost-?ictal\b" for p in lists.get("C5").unless_near)
    # rescuing items do not read it: strict loading says so instead of ignoring it
    own.write_text('[[extend]]\nid = "R3"\nunless_near = [\'\'\'x\'\'\']\n')
    with pytest.raises(ChecklistError, match="crisis items only"):
        load([own])


def test_shock_is_not_a_lowered_consciousness():
    # MTSamples 1786: a stuporous, somnolent patient not answering is a medical state, not C5 shock
    assert "C5" not in items("Speech low volume, essentially unresponsive, and somnolent during interview. "
                             "Poor concentration, mood unknown (the patient did not respond to questions).")
    assert "C5" in items("Client began hyperventilating, did not respond to her name, and could not say where she was.")


@pytest.mark.parametrize("title", ["LMSW", "LISW", "LCMHC", "LMHCA", "LMFTA", "AMFT", "LCSW"])
def test_a_licence_abbreviation_names_the_clinician_as_actor(title):
    # "LMSW changed the subject" is the writer's act; before, LMSW/LISW/LCMHC were read as nobody.
    text = f"Client became tearful about her mother. {title} changed the subject to her work schedule."
    note = Note(note_id="t", file="t", date="2026-03-02", clinician="Dana Whitfield", client="A",
                text=text, segments=(Segment(0, len(text), {}),))
    engine = Engine(model=False)
    assert engine.who(note, text, text.index("changed")) == "therapist"
    assert engine.who(note, text, text.index("became")) == "other"


def test_the_writers_own_credential_names_them_as_actor():
    # Notes name their writer by the credential after the name in the clinician column
    # ("VIS shifted to ..."); without it in the column, VIS is nobody's name.
    from notesplugin.checklists.engine import _titles
    text = "Client cried about her brother. VIS shifted to the court dates."
    engine = Engine(model=False)
    for clinician, want in (("Marcus Bell, VIS", "therapist"), ("Marcus Bell", "unnamed")):
        note = Note(note_id="t", file="t", date="2026-03-02", clinician=clinician, client="A",
                    text=text, segments=(Segment(0, len(text), {}),))
        assert (engine.who(note, text, text.index("shifted")) == "therapist") == (want == "therapist")
    # A degree names no one (MS is also an illness); a genetic counsellor's CGC does.
    assert _titles("Rena Okafor, MS, CGC") == ["CGC"] and _titles("Okafor, Rena") == []


def test_the_headers_title_for_the_writer_names_them_as_actor():
    # A note's own header may give the writer's title beside their name ("KW: Precious Adeyemi");
    # the note then names its writer by it ("KW said ..."). The client's label ("YP: ...") never does.
    from notesplugin.checklists.engine import _header_titles
    engine = Engine(model=False)
    body = "He cried about his mother. KW said they would leave it there for today."
    for head, want in (("KW: Precious Adeyemi    YP: Hamid N.\n", True),
                       ("Worker: Precious Adeyemi    YP: Hamid N.\n", False),
                       ("Worker: Precious Adeyemi, KW\n", True)):
        text = head + body
        note = Note(note_id="t", file="t", date="2026-03-02", clinician="Precious Adeyemi", client="Hamid N.",
                    text=text, segments=(Segment(0, len(text), {}),))
        assert (engine.who(note, text, text.index("said")) == "therapist") == want, head
    assert _header_titles("YP: Hamid Noori  KW: Precious Adeyemi", "Hamid Noori") == ()
    assert _header_titles("Dr Lee Tan, PGY-2", "Lee Tan") == ()  # a training year is no one's name
    assert _header_titles("CL: Precious Adeyemi", "Precious Adeyemi") == ()  # the client's label
