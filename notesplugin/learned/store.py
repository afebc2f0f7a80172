"""Where a practice's corrections live: a `learned/` folder beside the ledger,
owner-only like it. One JSON-lines file of examples per learn run, and the
practice model rebuilt from the shipped one plus every stored run.

An example is one sentence and one item: hashes of the file name, the note and
the sentence, the label, the sentence's features (restricted to the shipped
model's vocabulary unless the practice keeps text) and, only when the practice
keeps text, the sentence itself."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from notesplugin.fileio import ensure_dir, write_text_atomic
from notesplugin.learned import adapt
from notesplugin.learned.model import Model, ModelError, dump

MODEL = "model.json"
RUNS = "runs"
_RUN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def key(ex: dict) -> tuple[str, str, str]:
    """One sentence of one note, for one item: stored once; a later run's label wins."""
    return ex["note"], ex["sentence"], ex["item"]


class StoreError(Exception):
    """One line: the learned folder, what is wrong and the fix."""


@dataclass
class Status:
    folder: Path
    runs: list[tuple[str, int]]  # (run id, examples)
    by_item: dict[str, Counter]  # item -> Counter(positive=, negative=)
    by_kind: Counter  # file kind (xlsx, csv, docx) -> examples
    model: str  # "practice <fp> (N examples)" or "shipped <fp>"
    warning: str = ""
    keeps_text: bool = False
    examples: int = 0
    topics: int = 0
    extra: dict = field(default_factory=dict)
    # Per corrected copy (each export's writing style): its name (or, where the sentences are not
    # kept, a short hash of it), kind, notes and item -> Counter(positive=, negative=).
    by_file: list[dict] = field(default_factory=list)


def by_file(examples: list[dict]) -> list[dict]:
    """Examples per corrected copy and item: a practice's exports each have their own writing style."""
    files: dict[str, dict] = {}
    for ex in examples:
        f = files.setdefault(ex.get("file", "?"), {"name": "", "kind": ex.get("kind", "?"), "notes": set(), "items": {}})
        f["name"] = f["name"] or ex.get("file_name", "")
        f["notes"].add(ex.get("note"))
        f["items"].setdefault(ex["item"], Counter())["positive" if ex["label"] else "negative"] += 1
    out = [{"file": v["name"] or f"file {k[:8]}", "kind": v["kind"], "notes": len(v["notes"]),
            "examples": sum(sum(c.values()) for c in v["items"].values()), "items": dict(sorted(v["items"].items()))}
           for k, v in files.items()]
    return sorted(out, key=lambda f: (f["file"], f["kind"]))


class Store:
    def __init__(self, root: Path, *, keep_text: bool | None = None, file_mode: int = 0o600, dir_mode: int = 0o700):
        self.root = Path(root)
        self.keep_text_setting = keep_text
        self.file_mode, self.dir_mode = file_mode, dir_mode

    @classmethod
    def for_config(cls, config) -> "Store":
        return cls(config.ledger_path().parent / "learned", keep_text=getattr(config, "learn_keep_text", None),
                   file_mode=config.file_mode, dir_mode=config.dir_mode)

    # ---- where and what may be kept
    @property
    def model_path(self) -> Path:
        return self.root / MODEL

    def owner_only(self) -> bool:
        """The learned folder opens to its owner alone (as it will be made, when not made yet)."""
        try:
            return self.root.stat().st_mode & 0o077 == 0
        except FileNotFoundError:
            return self.dir_mode & 0o077 == 0
        except OSError:
            return False

    def keeps_text(self) -> bool:
        """`[learn] keep_text = false` always wins; true keeps it; unset keeps it only in an owner-only folder."""
        if self.keep_text_setting is not None:
            return bool(self.keep_text_setting)
        return self.owner_only()

    def ensure(self) -> None:
        try:
            ensure_dir(self.root / RUNS, self.dir_mode)
            os.chmod(self.root, self.dir_mode)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot use the learned folder ({exc.strerror}); "
                             "fix its permissions or the [ledger] path") from None

    # ---- runs of examples
    def runs(self) -> list[str]:
        d = self.root / RUNS
        if not d.is_dir():
            return []
        return sorted(p.stem for p in d.glob("*.jsonl") if _RUN.match(p.stem))

    def read_run(self, run: str) -> list[dict]:
        path = self.root / RUNS / f"{run}.jsonl"
        try:
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path}: cannot read this learn run ({type(exc).__name__}); "
                             f"remove it with 'notesplugin learn --undo {run}'") from None

    def effective(self, runs: list[str] | None = None) -> dict[tuple, dict]:
        """Every stored example (of these runs), one per key; the latest run wins (run ids sort by time)."""
        out: dict[tuple, dict] = {}
        for run in sorted(self.runs() if runs is None else runs):
            for ex in self.read_run(run):
                out[key(ex)] = ex
        return out

    def add_run(self, run: str, examples: list[dict]) -> None:
        self.ensure()
        text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in examples)
        write_text_atomic(self.root / RUNS / f"{run}.jsonl", text, self.file_mode)

    def undo(self, run: str) -> int:
        if run not in self.runs():
            known = ", ".join(self.runs()) or "none"
            raise StoreError(f"no learn run {run!r}; stored runs: {known}")
        n = len(self.read_run(run))
        (self.root / RUNS / f"{run}.jsonl").unlink()
        self.rebuild()
        return n

    def reset(self) -> None:
        """Back to the shipped model: every stored example and the practice model removed."""
        if self.root.is_dir():
            shutil.rmtree(self.root)

    # ---- the practice model
    def rebuild(self) -> dict | None:
        """The practice model from the shipped one and every stored run (written atomically),
        or none at all when nothing is stored."""
        model = self._build(self.runs())
        if model is None:
            self.model_path.unlink(missing_ok=True)
            return None
        self.ensure()
        write_text_atomic(self.model_path, dump(model), self.file_mode)
        return model

    def _build(self, runs: list[str]) -> dict | None:
        examples = list(self.effective(runs).values())
        if not examples:
            return None
        text = adapt.shipped_text()
        return adapt.build(json.loads(text), examples, runs=runs,
                           base_fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12])

    def model_of(self, runs: list[str], fingerprint: str) -> Model | None:
        """An earlier practice model, made again from the runs it was built on (the build is
        deterministic), when they are all still stored and it comes out the same."""
        if not runs or not set(runs) <= set(self.runs()):
            return None
        model = self._build(list(runs))
        text = dump(model) if model else ""
        if hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] != fingerprint:
            return None
        out = Model.from_dict(model, "practice model")
        out.fingerprint = fingerprint
        return out

    def practice_model(self, shipped_fingerprint: str) -> tuple[Model | None, str]:
        """(the practice model, "") when there is one made from this shipped model; else
        (None, a one-line warning or "")."""
        if not self.model_path.is_file():
            return None, ""
        try:
            model = Model.load(self.model_path)
        except ModelError as exc:
            return None, f"practice model not used ({exc}); the shipped model judged this run"
        base = model.meta.get("practice", {}).get("base")
        if base != shipped_fingerprint:
            return None, (f"practice model in {self.root} was learned on another shipped model ({base}); "
                          "the shipped model judged this run: run 'notesplugin learn FOLDER' again to rebuild it")
        return model, ""

    def status(self, shipped_fingerprint: str) -> Status:
        runs = [(r, len(self.read_run(r))) for r in self.runs()]
        eff = list(self.effective().values())
        by_item: dict[str, Counter] = {}
        for ex in eff:
            by_item.setdefault(ex["item"], Counter())["positive" if ex["label"] else "negative"] += 1
        model, warning = self.practice_model(shipped_fingerprint)
        used = (f"practice model {model.fingerprint} ({len(eff)} examples)" if model
                else f"shipped model {shipped_fingerprint}")
        return Status(self.root, runs, dict(sorted(by_item.items())), Counter(ex.get("kind", "?") for ex in eff), used,
                      warning, self.keeps_text(), len(eff), sum(1 for ex in eff if ex.get("topic")),
                      {"with_text": sum(1 for ex in eff if "text" in ex)}, by_file(eff))
