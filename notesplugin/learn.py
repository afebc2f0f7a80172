"""`notesplugin learn`: corrections in a folder of annotated copies -> labeled
sentences in the practice's learned/ folder -> the practice model. Never prints:
the CLI renders the LearnResult.

A correction becomes sentences by re-reading the copy's notes and running the
engine with the model that judged the scan (run.json beside the copy says which):
`not R1` makes the sentences R1 was flagged on negatives for R1; `ok` makes every
flagged sentence a positive for its item, and on a clean note every sentence a
negative for every item; `missed R3` makes the quoted sentence (else the one the
model scores highest for R3 among those the actor logic allows) a positive."""
from __future__ import annotations

import json
import os
import re

from dataclasses import dataclass, field
from pathlib import Path

from notesplugin.checklists import load as load_checklists
from notesplugin.checklists.engine import Engine
from notesplugin.config import Config
from notesplugin.corrections import Correction, item_refs, parse
from notesplugin.learned.features import tokens, topic_features
from notesplugin.learned.model import Model
from notesplugin.learned.reader import Reader, actor_allows
from notesplugin.learned.store import Store, digest, key
from notesplugin.ledger import new_run_id
from notesplugin.model import InputError, Note

KINDS = (".xlsx", ".xlsm", ".csv", ".docx", ".docm", ".pdf")
_QUOTES = re.compile(r'["“][^"”]*["”]')


@dataclass
class FileReport:
    path: str
    ok: bool = True
    message: str = ""  # a refused or unreadable file: its one line
    confirmed: int = 0
    false_flags: int = 0
    missed: int = 0
    unparsed: list[str] = field(default_factory=list)  # "<where>: <why>", the note's words left out
    examples: int = 0

    @property
    def corrections(self) -> int:
        return self.confirmed + self.false_flags + self.missed


@dataclass
class LearnResult:
    run_id: str
    files: list[FileReport]
    new: int = 0
    known: int = 0  # examples already stored with the same label
    contradictions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model: str = ""  # what the next scan uses
    keeps_text: bool = False

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if not f.ok]


def find_copies(folder: Path) -> list[Path]:
    """Files that may be annotated copies: the folder walked like a scan walks it, our summary left out."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    out = []
    for root, dirs, files in os.walk(folder):
        # a scan's letters/ (beside its run.json) holds letters, not copies
        ours = (Path(root) / "run.json").is_file()
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (ours and d == "letters"))
        for name in sorted(files):
            if name.startswith(("~$", ".")) or name == "summary.xlsx" or name.endswith(".part"):
                continue
            if Path(name).suffix.lower() in KINDS:
                out.append(Path(root) / name)
    return out


def _run_model(path: Path, store: Store, shipped: Model, cache: dict) -> tuple[Model, str]:
    """The model that judged the scan that wrote this copy (run.json beside it), and a warning when
    it cannot be had again (then the model the next scan would use)."""
    fp, runs = None, []
    try:
        judged = json.loads((path.parent / "run.json").read_text(encoding="utf-8")).get("judgement") or {}
        fp, runs = (judged.get("model") or {}).get("fingerprint"), (judged.get("model") or {}).get("runs") or []
    except (OSError, ValueError, AttributeError):
        pass
    if fp == shipped.fingerprint:
        return shipped, ""
    practice, _ = store.practice_model(shipped.fingerprint)
    if practice is not None and fp == practice.fingerprint:
        return practice, ""
    if fp and runs:
        if fp not in cache:
            cache[fp] = store.model_of(runs, fp)
        if cache[fp] is not None:
            return cache[fp], ""
    if "current" not in cache:
        cache["current"] = practice or shipped
    why = "no run.json beside it" if fp is None else f"its scan's model {fp} is no longer stored"
    return cache["current"], (f"{path.name}: {why}; its findings were worked out again with the "
                              f"{'practice' if practice else 'shipped'} model")


_TITLE = re.compile(r"\b[A-Z]{2,5}\b")


def _titles(engine: Engine, note: Note, sent) -> list[str]:
    """Capitalised short words in a sentence that the who-acted rules do not read as anyone (VRC,
    NCM): candidates for a practice's own name for its writer (learned/adapt.py: writers)."""
    known = [(m.start(), m.end()) for m in engine._actor_res(note)[0].finditer(sent.masked)]
    return sorted({m.group().lower() for m in _TITLE.finditer(sent.masked)
                   if not any(a <= m.start() < b for a, b in known)})


def _hide_quotes(text: str) -> str:
    """A clause for a message: a quoted fragment is note text, never printed."""
    return _QUOTES.sub('"..."', " ".join(text.split()))


class _Learner:
    def __init__(self, config: Config, store: Store, run: str):
        self.config, self.store, self.run = config, store, run
        self.checklists = load_checklists(config.checklists)
        self.items = {i.id: i for i in self.checklists.items}
        self.refs = item_refs(self.checklists.items)
        self.shipped = Reader.default().model
        self.engines: dict[str, Engine] = {}
        self.keep = store.keeps_text()
        self.vocab = set(self.shipped.weights)
        self.tvocab = set(self.shipped.topic_weights)
        self.cache: dict = {}

    def engine(self, model: Model) -> Engine:
        fp = getattr(model, "fingerprint", "")
        if fp not in self.engines:
            self.engines[fp] = Engine(self.checklists, model=Reader(model))
        return self.engines[fp]

    def file(self, path: Path, warnings: list[str]) -> tuple[FileReport, list[dict]]:
        from notesplugin.readers.review import NotOurs, read_reviewed

        rep = FileReport(str(path))
        try:
            reviewed = read_reviewed(path, self.config)
        except NotOurs:
            rep.ok, rep.message = False, (f"{path.name}: not an annotated copy written by notesplugin (no Review "
                                          "column / no notesplugin comments); scan it first")
            return rep, []
        except InputError as exc:
            rep.ok, rep.message = False, str(exc)
            return rep, []
        model, warning = _run_model(path, self.store, self.shipped, self.cache)
        if warning and reviewed.cells:
            warnings.append(warning)
        engine = self.engine(model)
        out: list[dict] = []
        for cell in reviewed.cells:
            if cell.note is None:
                rep.unparsed.append(f"{cell.where}: not anchored on a note's text; anchor the comment in the note")
                continue
            got, bad = parse(cell.text, self.refs, model.topics)
            for b in bad:
                if b.code == "no-item" and cell.item and cell.item in self.items:  # a reply: "not" means its item
                    more, still = parse(f"{b.text} {cell.item}", self.refs, model.topics)
                    if more and not still:
                        got += more
                        continue
                rep.unparsed.append(f"{cell.where}: {_hide_quotes(b.message)}")
            if cell.item and cell.item in self.items:
                got = [Correction("ok", cell.item, text=c.text) if c.kind == "ok" and c.item is None else c for c in got]
            if got:
                out += self._note(engine, cell, got, rep, reviewed.kind, path.name)
        rep.examples = len(out)
        return rep, out

    def _note(self, engine: Engine, cell, corrections: list[Correction], rep: FileReport, kind: str,
              file: str) -> list[dict]:
        note: Note = cell.note
        sents, _, ndate = engine._prepare(note)
        reading = engine.model.read(engine, note, sents, ndate)
        at = {s.start: k for k, s in enumerate(sents)}
        flagged: dict[str, set[int]] = {}
        for f in engine.check(note):
            if f.start in at:
                flagged.setdefault(f.item, set()).add(at[f.start])
        denied = {c.item for c in corrections if c.kind == "not"}
        named = {c.item for c in corrections if c.kind == "missed"}
        labels: dict[tuple[int, str], tuple[int, str | None, bool]] = {}
        blocked: dict[int, list[str]] = {}  # missed acts the who-acted logic ruled out -> their unknown titles

        def put(k: int, item: str, y: int, topic: str | None = None, ok: bool = False) -> None:
            labels[(k, item)] = (y, topic, ok)
        for c in corrections:
            where = f"{cell.where}: '{_hide_quotes(c.text)}'"
            if c.kind == "ok" and c.item is None:
                if flagged:
                    for item, ks in flagged.items():
                        if item not in denied:
                            rep.confirmed += 1
                            for k in ks:
                                put(k, item, 1, ok=True)
                else:  # a clean note, confirmed clean: nothing in it is any item
                    rep.confirmed += 1
                    for k in range(len(sents)):
                        for item in self.shipped.labels:
                            if item not in named:
                                put(k, item, 0, ok=True)
            elif c.kind == "ok":
                if c.item not in flagged:
                    rep.unparsed.append(f"{where}: {c.item} was not flagged on this note")
                    continue
                rep.confirmed += 1
                for k in flagged[c.item]:
                    put(k, c.item, 1, ok=True)
            elif c.kind == "not":
                if c.item not in flagged:
                    rep.unparsed.append(f"{where}: {c.item} was not flagged on this note, so there is nothing to undo")
                    continue
                rep.false_flags += 1
                for k in flagged[c.item]:
                    put(k, c.item, 0)
            else:
                if not c.fragment and cell.anchor.strip():  # a Word comment anchored on the sentence meant
                    c = Correction(c.kind, c.item, c.topic, " ".join(cell.anchor.split()), c.text)
                k = self._locate(c, sents, reading)
                if k is None:
                    rep.unparsed.append(f"{where}: " + ("the quoted words are not in the note"
                                                        if c.fragment else "say which sentence: missed "
                                                        f"{c.item} \"a few words of it\""))
                    continue
                rep.missed += 1
                put(k, c.item, 1, c.topic)
                if self.items[c.item].checklist == "rescuing" and not actor_allows(reading.feats[k], reading.writers):
                    blocked[k] = _titles(engine, note, sents[k])
        words = sorted(set(tokens(note.text)))
        out = []
        for (k, item), (y, topic, ok) in sorted(labels.items()):
            if ok and item in self.items and not self.items[item].learn_confirmed:
                continue  # the item learns from corrections only (checklist data: learn_confirmed)
            feats = reading.feats[k] if self.keep else [f for f in reading.feats[k] if f in self.vocab]
            ex = {"run": self.run, "file": digest(file), "note": digest(note.text), "sentence": digest(sents[k].text),
                  "item": item, "label": y, "kind": kind, "feats": feats}
            if topic and self.items[item].checklist == "rescuing":
                tf = topic_features(reading.feats[k], words, reading.rule_topics(k))
                ex["topic"], ex["tfeats"] = topic, tf if self.keep else [f for f in tf if f in self.tvocab]
            if self.keep:
                ex["text"] = sents[k].text
                if y and k in blocked:
                    ex["titles"] = blocked[k]
                ex["file_name"] = file  # --status names the copy (a writing style) only where text is kept
            out.append(ex)
        return out

    def _locate(self, c: Correction, sents: list, reading) -> int | None:
        if c.fragment:
            want = " ".join(c.fragment.lower().split())
            for k, s in enumerate(sents):
                if want in " ".join(s.text.lower().split()):
                    return k
            return None
        if c.item not in reading.model.labels:
            return None  # a practice's own item: the model cannot say which sentence
        ks = range(len(sents))
        if self.items[c.item].checklist == "rescuing":
            ks = [k for k in ks if actor_allows(reading.feats[k], reading.writers)] or list(ks)
        return max(ks, key=lambda k: (reading.probs[k][c.item], -k), default=None)


def learn(folder: Path, config: Config, *, store: Store | None = None) -> LearnResult:
    """Read every correction in a folder of annotated copies, store what is new, rebuild the practice model."""
    store = store or Store.for_config(config)
    run = new_run_id()
    learner = _Learner(config, store, run)
    result = LearnResult(run, [], keeps_text=learner.keep)
    stored = store.effective()
    fresh: dict[tuple, dict] = {}
    for path in find_copies(folder):
        if path.suffix.lower() == ".pdf":  # a PDF copy's notes are popups on the page: not read back (yet)
            if ".annotated" in path.name:
                result.warnings.append(f"{path.name}: corrections are not read from PDF copies; scan the export "
                                       "as DOCX, XLSX or CSV to correct it")
            continue
        rep, examples = learner.file(path, result.warnings)
        result.files.append(rep)
        for ex in examples:
            k = key(ex)
            if k in fresh and fresh[k]["label"] != ex["label"]:
                result.contradictions.append(f"{path.name}: {ex['item']} on one sentence is corrected both ways in "
                                             "this folder; the later file wins")
            old = stored.get(k)
            if old is not None and old["label"] == ex["label"]:
                result.known += 1
                fresh.pop(k, None)
                continue
            if old is not None:
                result.contradictions.append(
                    f"{path.name}: {ex['item']} on one sentence was {'right' if old['label'] else 'wrong'} in learn "
                    f"run {old['run']}, now {'right' if ex['label'] else 'wrong'}; this run wins")
            fresh[k] = ex
    result.new = len(fresh)
    if fresh:
        store.add_run(run, list(fresh.values()))
        store.rebuild()
    practice, warning = store.practice_model(learner.shipped.fingerprint)
    if warning:
        result.warnings.append(warning)
    n = len(store.effective()) if practice else 0
    result.model = (f"practice model {practice.fingerprint} ({n} examples)" if practice
                    else f"shipped model {learner.shipped.fingerprint}")
    return result


def counts_line(rep: FileReport) -> str:
    def n(k: int, one: str, many: str) -> str:
        return f"{k} {one if k == 1 else many}"
    return (f"{n(rep.corrections, 'correction', 'corrections')}: {rep.confirmed} confirmed, "
            f"{n(rep.false_flags, 'false flag', 'false flags')}, {n(rep.missed, 'missed item', 'missed items')}")


