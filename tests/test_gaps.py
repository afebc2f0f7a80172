from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from notesplugin.config import Config
from notesplugin.gaps import current_gaps, find_gap, week_of
from notesplugin.history import after_scan
from notesplugin.ledger import Ledger
from notesplugin.model import Finding, Note

# The shared folder sits beside the repository (../shared), wherever it is checked out.
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dev_notes.jsonl"
D0 = date(2026, 1, 5)


def session(nid, day, clinician="Dana Whitfield, LPC", client="Alicia M.", file=None):
    day = day if isinstance(day, str) else day.isoformat()
    return Note(note_id=nid, file=file or f"export-{nid}.csv", text=f"note {nid}", clinician=clinician,
                client=client, date=day)


def finding(n, item="R1", topic="grief", status="flagged", checklist="rescuing"):
    return Finding(n.note_id, n.file, checklist, item, item.lower(), status, topic, "steered away", 0, 1, {},
                   clinician=n.clinician, client=n.client, date=n.date)


def gaps_of(tmp_path, notes, findings, config=None, since=None):
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan(notes, findings, "1")
        return {(g.clinician, g.topic): g for g in current_gaps(led, config or Config(), since)}


def _corpus(path: Path = CORPUS) -> Path:
    """The dev corpus; in CI (env CI set) its absence is a failure, elsewhere a skip."""
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"shared dev corpus missing at {path}; CI must check out ../shared beside the repo")
        pytest.skip(f"shared dev corpus not present at {path}")
    return path


def test_corpus_is_found_relative_to_the_repo(monkeypatch, tmp_path):
    assert CORPUS.parts[-3:] == ("shared", "corpus", "dev_notes.jsonl")
    assert CORPUS.parent.parent.parent == Path(__file__).resolve().parent.parent.parent
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="shared dev corpus missing"):
        _corpus(tmp_path / "absent.jsonl")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _corpus(tmp_path / "absent.jsonl")


def test_dev_corpus_gaps(tmp_path):
    notes, findings = [], []
    for line in _corpus().read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        n = Note(note_id=d["id"], file="dev_notes.jsonl", text=d["text"], clinician=d["clinician"],
                 client=d["client"], date=d["date"])
        notes.append(n)
        for status, items in (("flagged", d["rescuing"]), ("exempt", d["exempt"])):
            findings += [finding(n, it, t, status) for it in items for t in d["topics"]]
        findings += [finding(n, c, None, "present", "crisis") for c in d["crisis"]]
    got = gaps_of(tmp_path, notes, findings)
    assert set(got) == {("Dana Whitfield", "grief"), ("Elena Vasquez-Hart", "relationship"),
                        ("Marcus Oyelaran", "anger"), ("Keisha Monroe-Tate", "anger")}
    assert len(got[("Marcus Oyelaran", "anger")].sessions) == 3  # the crisis note's R7 counts
    assert len(got[("Keisha Monroe-Tate", "anger")].sessions) == 2
    # Elena's fourth relationship note is a crisis note: exempt, left out of the count, reported.
    elena = got[("Elena Vasquez-Hart", "relationship")]
    assert len(elena.sessions) == 3 and elena.exempt_left_out == 0  # dev-045 lies after the gap's period


def test_exempt_repeats_make_no_gap(tmp_path):
    notes = [session(f"n{i}", D0 + timedelta(weeks=i)) for i in range(4)]
    assert gaps_of(tmp_path, notes, [finding(n, status="exempt") for n in notes]) == {}


def test_three_sessions_within_window_and_not_beyond(tmp_path):
    near = [session("a", D0), session("b", D0 + timedelta(days=20)), session("c", D0 + timedelta(days=55))]
    got = gaps_of(tmp_path / "1", near, [finding(n) for n in near])
    assert got[("Dana Whitfield", "grief")].first_met == D0 + timedelta(days=55)
    far = [session("a", D0), session("b", D0 + timedelta(days=20)), session("c", D0 + timedelta(days=56))]
    assert gaps_of(tmp_path / "2", far, [finding(n) for n in far]) == {}


def test_two_sessions_suffice_with_r7(tmp_path):
    notes = [session("a", D0), session("b", D0 + timedelta(weeks=7))]
    got = gaps_of(tmp_path / "1", notes, [finding(notes[0]), finding(notes[1], "R7")])
    assert got[("Dana Whitfield", "grief")].has_r7
    # R7 on another topic does not lower the bar for this one
    got = gaps_of(tmp_path / "2", notes, [finding(notes[0]), finding(notes[1]), finding(notes[1], "R7", "fear")])
    assert got == {}


def test_two_notes_of_one_session_count_once(tmp_path):
    notes = [session("a", D0), session("a2", D0), session("b", D0 + timedelta(days=7))]
    assert gaps_of(tmp_path, notes, [finding(n) for n in notes]) == {}


def test_covering_clinician_counts_for_the_writer(tmp_path):
    a1, a2 = session("a1", D0), session("a2", D0 + timedelta(days=7))
    cover = session("c1", D0 + timedelta(days=14), clinician="Marcus Oyelaran, LCSW")  # same client, covering
    notes = [a1, a2, cover]
    assert gaps_of(tmp_path / "1", notes, [finding(n) for n in notes]) == {}
    a3 = session("a3", D0 + timedelta(days=21), clinician="WHITFIELD, DANA")
    got = gaps_of(tmp_path / "2", notes + [a3], [finding(n) for n in notes + [a3]])
    assert list(got) == [("Dana Whitfield", "grief")]
    dates = [s.date for s in got[("Dana Whitfield", "grief")].sessions]
    assert dates == [D0, D0 + timedelta(days=7), D0 + timedelta(days=21)]


def test_since_limits_the_sessions(tmp_path):
    notes = [session(f"n{i}", D0 + timedelta(weeks=i)) for i in range(3)]
    assert gaps_of(tmp_path / "1", notes, [finding(n) for n in notes])
    assert gaps_of(tmp_path / "2", notes, [finding(n) for n in notes], since=D0 + timedelta(days=1)) == {}


def test_find_gap_accepts_any_spelling(tmp_path):
    notes = [session(f"n{i}", D0 + timedelta(weeks=i)) for i in range(3)]
    with Ledger(tmp_path / "l.db") as led:
        led.record_scan(notes, [finding(n) for n in notes], "1")
        assert find_gap(led, Config(), "whitfield, dana", "grief") is not None
        assert find_gap(led, Config(), "Dana Whitfield", "anger") is None
        # the topic as a user types it: capital letter, stray spaces (first-use review)
        assert find_gap(led, Config(), "Dana Whitfield", " Grief ") is not None


def test_week_of_is_monday():
    assert week_of(date(2026, 1, 8)) == date(2026, 1, 5) and week_of(date(2026, 1, 5)) == date(2026, 1, 5)


def test_weekly_exports_letters_when_and_only_when_due(tmp_path):
    """Five weekly runs through one ledger: which gaps and letters appear, and when."""
    led, out, cfg = tmp_path / "ledger.db", tmp_path / "out", Config()

    def run(week, notes, findings):
        return after_scan(notes, findings, cfg, out, ledger_path=led, today=D0 + timedelta(weeks=week))

    w1 = [session("1", D0, file="week1.csv")]
    r1 = run(1, w1, [finding(w1[0])])
    assert (r1.gaps, r1.letters) == ([], [])
    w2 = [session("2", D0 + timedelta(days=7), file="week2.csv"),
          session("x", D0 + timedelta(days=8), clinician="Elena Vasquez-Hart, LMFT", client="Kayla S.", file="week2.csv")]
    r2 = run(2, w2, [finding(w2[0], "R3"), finding(w2[1], topic="relationship")])
    assert r2.letters == []
    w3 = [session("3", D0 + timedelta(days=14), file="week3.csv")]
    r3 = run(3, w3, [finding(w3[0], "R4")])
    assert [(g.clinician, g.topic) for g in r3.new_gaps] == [("Dana Whitfield", "grief")]
    assert [(x["clinician"], x["follow_up"]) for x in r3.letters] == [("Dana Whitfield", False)]
    assert Path(r3.letters[0]["markdown"]).is_file() and Path(r3.letters[0]["docx"]).is_file()
    assert r3.gaps[0].letter == r3.letters[0]["docx"]
    r3b = run(3, w3, [finding(w3[0], "R4")])  # the same export again: nothing new
    assert (r3b.run.findings_recorded, r3b.letters, r3b.new_gaps) == (0, [], [])
    assert len(r3b.gaps) == 1
    w4 = [session("4", D0 + timedelta(days=21), file="week4.csv")]
    r4 = run(4, w4, [finding(w4[0], "R1", status="exempt")])  # crisis week: no follow-up
    assert r4.letters == []
    w5 = [session("5", D0 + timedelta(days=28), file="week5.csv")]
    r5 = run(5, w5, [finding(w5[0], "R2")])
    assert [(x["follow_up"], x["sessions"]) for x in r5.letters] == [(True, 4)]
    assert r5.new_gaps == []
    assert "Follow-up" in Path(r5.letters[0]["markdown"]).read_text()
    assert "1 more session now adds to it." in Path(r5.letters[0]["markdown"]).read_text()  # grammar for one
    assert len(list((out / "letters").glob("*.md"))) == 2
    json.dumps(r5.to_dict())  # JSON-able


def _practice_item(tmp_path, signals: bool) -> Config:
    path = tmp_path / f"practice-{signals}.toml"
    path.write_text(f'''checklist = "rescuing"
[[item]]
id = "X7"
name = "outofdepth"
actor = "clinician"
negatable = false
exempt_in_crisis = false
signals_consultation = {str(signals).lower()}
cues = ['\\bzorbled\\b']
''')
    return Config(checklists=[path])


def test_practice_item_with_signals_consultation_behaves_like_r7(tmp_path):
    notes = [session("a", D0), session("b", D0 + timedelta(weeks=7))]
    findings = [finding(notes[0]), finding(notes[1], "X7")]
    got = gaps_of(tmp_path / "1", notes, findings, _practice_item(tmp_path, True))
    assert got[("Dana Whitfield", "grief")].has_r7
    assert gaps_of(tmp_path / "2", notes, findings, _practice_item(tmp_path, False)) == {}


def test_practice_item_not_exempt_in_crisis_is_flagged_like_r7(tmp_path):
    from notesplugin.checklists import load
    from notesplugin.checklists.engine import Engine

    cfg = _practice_item(tmp_path, True)
    engine = Engine(load(cfg.checklists), model=False)
    text = ("Client swallowed 30 pills last night and says she plans to do it again tonight. "
            "I felt zorbled by her grief and unsure how to help.")
    got = {f.item: f for f in engine.check(Note("n", "f.csv", text, date="2026-01-05"))}
    assert "C1" in got and got["X7"].status == "flagged" and not got["X7"].exempt_by


def test_letter_names_items_from_the_checklists_not_a_table_of_ids(tmp_path):
    from notesplugin.letters import letter_context

    cfg = _practice_item(tmp_path, True)
    notes = [session("a", D0), session("b", D0 + timedelta(weeks=7))]
    gap = gaps_of(tmp_path / "1", notes, [finding(notes[0]), finding(notes[1], "X7")], cfg)[("Dana Whitfield", "grief")]
    gap.item_names = {}  # a stored finding without a name of its own
    items = {it["id"]: it["name"] for it in letter_context(gap, cfg, "consultation-request")["items"]}
    assert items == {"R1": "redirect", "X7": "outofdepth"}


def test_two_scans_crossing_the_threshold_at_once_write_one_letter(tmp_path, monkeypatch):
    """Both scans hold the same three sessions; only one may write the initial letter."""
    import threading

    import notesplugin.history as history

    led, cfg = tmp_path / "ledger.db", Config()
    notes = [session(str(i), D0 + timedelta(weeks=i), file="week.csv") for i in range(3)]
    found = [finding(n) for n in notes]
    Ledger(led).close()
    both_writing = threading.Barrier(2, timeout=3)  # without a lock both scans get here together
    real = history.write_letter

    def slow_write(*args, **kwargs):
        try:
            both_writing.wait()
        except threading.BrokenBarrierError:
            pass  # the other scan is waiting for the ledger's lock, as it should
        return real(*args, **kwargs)

    monkeypatch.setattr(history, "write_letter", slow_write)
    results, errors = [], []

    def scan(k):
        try:
            results.append(after_scan(notes, found, cfg, tmp_path / f"out{k}", ledger_path=led))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r.letters) for r in results) == [0, 1]
    with Ledger(led) as ledger:
        assert len(ledger.letters("dana whitfield", "grief")) == 1


def _rule(sessions: dict[str, tuple[date, set[str]]], cfg: Config) -> tuple[date | None, set[str]]:
    """The repeated-gap rule as gaps.py's docstring states it, in plain Python: the oracle for the SQL."""
    span, first, members = cfg.gap_window_weeks * 7, None, set()
    for end in sorted({d for d, _ in sessions.values()}):
        window = {k for k, (d, _) in sessions.items() if d <= end and (end - d).days < span}
        r7 = any("R7" in sessions[k][1] for k in window)
        if len(window) >= cfg.gap_sessions or (r7 and len(window) >= cfg.gap_sessions_with_r7):
            first = first or end
            members |= window
    return first, members


def test_gaps_in_sql_follow_the_rule(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    row = st.tuples(st.sampled_from(["Dana Whitfield", "Elena Vasquez-Hart"]), st.sampled_from(["grief", "anger"]),
                    st.integers(0, 10).map(lambda w: 7 * w), st.sampled_from(["Alicia M.", "Kayla S.", ""]),
                    st.sampled_from(["R1", "R3", "R7"]), st.sampled_from(["flagged", "flagged", "exempt"]))
    cfg = Config(gap_sessions=3, gap_sessions_with_r7=2, gap_window_weeks=4)
    runs = iter(range(10**6))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=st.lists(row, max_size=18))
    def check(rows):
        notes, found = [], []
        for i, (who, topic, day, client, item, status) in enumerate(rows):
            n = session(f"n{i}", D0 + timedelta(days=day), clinician=who, client=client)
            notes.append(n)
            found.append(finding(n, item, topic, status))
        with Ledger(tmp_path / f"l{next(runs)}.db") as led:
            led.record_scan(notes, found, "1")
            got = {(g.clinician_key, g.topic): g for g in current_gaps(led, cfg)}
            want = {}
            for ck in ("dana whitfield", "elena vasquez-hart"):
                for topic in ("grief", "anger"):
                    sessions: dict[str, tuple[date, set[str]]] = {}
                    for f in led.findings(ck, topic):
                        if f.status == "flagged":
                            d = date.fromisoformat(f.session_date)
                            sessions.setdefault(f.session_key, (d, set()))[1].add(f.item)
                    first, members = _rule(sessions, cfg)
                    if first:
                        want[(ck, topic)] = (first, members)
        assert set(got) == set(want)
        for k, (first, members) in want.items():
            assert (got[k].first_met, got[k].session_keys) == (first, members)

    check()


def test_a_letter_is_recorded_with_its_full_path_when_out_was_relative(tmp_path, monkeypatch):
    # `gaps` and the summary are read from other folders than the scan's: a path as typed
    # ("reviewed/letters/...") would point nowhere there
    monkeypatch.chdir(tmp_path)
    led, cfg = tmp_path / "ledger.db", Config()
    notes = [session(str(k), D0 + timedelta(days=7 * k), file=f"week{k}.csv") for k in range(3)]
    res = after_scan(notes, [finding(n) for n in notes], cfg, Path("reviewed"), ledger_path=led, today=D0)
    assert res.letters and not Path(res.letters[0]["docx"]).is_absolute()  # the terminal says it as typed
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    with Ledger(led) as ledger:
        [gap] = current_gaps(ledger, cfg)
    assert Path(gap.letter).is_absolute() and Path(gap.letter).is_file()
