"""Checklists as data: loading and strict validation.

The two shipped checklists (rescuing.toml, crisis.toml) and the shared
lexicon.toml live beside this file. A practice can add cues, examples or
whole items in its own TOML file with the same shape; loading is strict so a
typo fails with the file, the entry and the fix instead of being ignored.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

FLAGS = re.IGNORECASE
ITEM_ID = re.compile(r"^[A-Z][A-Z0-9]{0,3}\d+[a-z]?$")
CONTEXT_KINDS = {"negated", "historical", "hypothetical", "other_experiencer"}
ITEM_KEYS = {"id", "name", "what", "why", "reason", "actor", "needs_emotion", "negatable", "cues", "unless",
             "unless_near", "also", "also_window", "context", "max_age_days", "flag", "ok", "topic", "quoted",
             "exempt_in_crisis", "signals_consultation", "model_veto", "note_veto", "learn_confirmed",
             "subject_is_experiencer", "act"}
FILE_KEYS = {"checklist", "version", "item", "extend"}
EXTEND_KEYS = {"id", "cues", "unless", "unless_near", "also", "flag", "ok"}


class ChecklistError(Exception):
    """One line: the file, the entry and the fix."""


@dataclass
class Item:
    id: str
    name: str
    checklist: str
    what: str = ""
    why: str = ""
    reason: str = ""
    actor: str = "any"
    needs_emotion: bool = False
    negatable: bool = True
    quoted: bool = False  # cues may match inside quotes (the clinician's own quoted words)
    exempt_in_crisis: bool = True  # False: counts even in a crisis note (R7, a training gap)
    signals_consultation: bool = False  # True: a gap holding it needs fewer sessions ([gaps] sessions_with_r7)
    model_veto: bool = True  # False: a very low model score never drops this item's rule finding
    note_veto: bool = True  # False: the crisis note head reading a note as no crisis never drops this item's rule finding
    learn_confirmed: bool = True  # False: a practice's `ok` does not move this item in its model; `not`/`missed` do
    # True: a rule's hit whose nearest subject is someone who is never the client (lexicon
    # someone_else) is theirs ("His brother was hospitalized after a suicide attempt")
    subject_is_experiencer: bool = False
    # True: one of the therapist's acts on the client's process (R1-R6). The model's act head
    # reads them together, and one sentence is read as one of them (learned/reader.py: one_act).
    act: bool = False
    cues: list[re.Pattern] = field(default_factory=list)
    unless: list[re.Pattern] = field(default_factory=list)
    # cancel a crisis cue from the sentence itself or the one before or after it
    unless_near: list[re.Pattern] = field(default_factory=list)
    also: list[re.Pattern] = field(default_factory=list)
    also_window: int = 0
    context: frozenset[str] = frozenset()
    max_age_days: int | None = None
    topic: str | None = None  # a fixed topic, for a practice's own item
    flag: list[str] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class Checklists:
    items: list[Item]
    version: str

    def get(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    def by_checklist(self, name: str) -> list[Item]:
        return [i for i in self.items if i.checklist == name]


def _compile(pattern: Any, where: str, linear: bool = False) -> re.Pattern:
    """A cue as a compiled pattern. `linear`: a practice's own cue, run by RE2, whose time grows
    linearly with the sentence; Python's backtracking engine can take exponential time on a cue
    like (a+)+$. Shipped cues are reviewed and stay on `re` (faster on them: benchmarks/bench.py)."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ChecklistError(f"{where}: a pattern must be a non-empty string (use '''...''' for regexes)")
    try:
        compiled = re.compile(pattern, FLAGS)  # Python's syntax: the literal gate reads it with re's parser
    except re.error as exc:
        raise ChecklistError(f"{where}: pattern {_shown(pattern)} does not compile ({exc}); fix the regex") from None
    if not linear:
        return compiled
    import re2
    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as exc:
        raise ChecklistError(
            f"{where}: pattern {_shown(pattern)} needs a backtracking feature ({_why(exc)}); a practice's cues must run "
            "in linear time: rewrite it without lookarounds (?= ?! ?<= ?<!), backreferences or possessive "
            "repeats") from None


def _shown(pattern: str) -> str:
    """The pattern as the practice typed it (a repr would double every backslash)."""
    return f'"{pattern[:60]}{"..." if len(pattern) > 60 else ""}"'


def _why(exc: Exception) -> str:
    """RE2's reason, which it gives as bytes."""
    arg = exc.args[0] if exc.args else ""
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def _re2_options():
    import re2
    options = re2.Options()
    options.case_sensitive = False  # as FLAGS
    options.log_errors = False  # the error goes in the one-line message, not to stderr
    return options


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChecklistError(f"{where}: must be a list of strings")
    return list(value)


def _item(raw: dict, checklist: str, source: str, n: int, linear: bool = False) -> Item:
    where = f"{source}: item #{n} ({raw.get('id', '?')})"
    unknown = set(raw) - ITEM_KEYS
    if unknown:
        raise ChecklistError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(ITEM_KEYS))}")
    iid = raw.get("id")
    if not isinstance(iid, str) or not ITEM_ID.match(iid):
        raise ChecklistError(f"{where}: 'id' must look like R1, C5 or a practice id such as X1")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ChecklistError(f"{where}: 'name' is required (one word, e.g. \"redirect\")")
    ctx = set(_strings(raw.get("context", []), f"{where} context"))
    if ctx - CONTEXT_KINDS:
        raise ChecklistError(f"{where}: context may only hold {', '.join(sorted(CONTEXT_KINDS))}")
    actor = raw.get("actor", "therapist" if checklist == "rescuing" else "any")
    if actor not in ("therapist", "clinician", "any"):
        raise ChecklistError(f"{where}: 'actor' must be \"therapist\", \"clinician\" (named explicitly) or \"any\"")
    age = raw.get("max_age_days")
    if age is not None and (not isinstance(age, int) or age < 0):
        raise ChecklistError(f"{where}: 'max_age_days' must be a whole number of days")
    if raw.get("unless_near") and checklist != "crisis":
        raise ChecklistError(f"{where}: 'unless_near' is read for crisis items only; use 'unless' here")
    cues = [_compile(p, f"{where} cues[{k}]", linear)
            for k, p in enumerate(_strings(raw.get("cues", []), f"{where} cues"))]
    if not cues:
        raise ChecklistError(f"{where}: at least one cue is required")
    return Item(
        id=iid, name=raw["name"], checklist=checklist, what=str(raw.get("what", "")), why=str(raw.get("why", "")),
        reason=str(raw.get("reason", raw.get("what", ""))), actor=actor,
        needs_emotion=bool(raw.get("needs_emotion", False)), negatable=bool(raw.get("negatable", True)),
        quoted=bool(raw.get("quoted", False)), exempt_in_crisis=bool(raw.get("exempt_in_crisis", True)),
        signals_consultation=bool(raw.get("signals_consultation", False)),
        model_veto=bool(raw.get("model_veto", True)),
        note_veto=bool(raw.get("note_veto", True)),
        learn_confirmed=bool(raw.get("learn_confirmed", True)),
        subject_is_experiencer=bool(raw.get("subject_is_experiencer", False)),
        act=bool(raw.get("act", False)),
        cues=cues,
        unless=[_compile(p, f"{where} unless[{k}]", linear)
                for k, p in enumerate(_strings(raw.get("unless", []), f"{where} unless"))],
        unless_near=[_compile(p, f"{where} unless_near[{k}]", linear)
                     for k, p in enumerate(_strings(raw.get("unless_near", []), f"{where} unless_near"))],
        also=[_compile(p, f"{where} also[{k}]", linear)
              for k, p in enumerate(_strings(raw.get("also", []), f"{where} also"))],
        also_window=int(raw.get("also_window", 0)), context=frozenset(ctx), max_age_days=age,
        topic=raw.get("topic"), flag=_strings(raw.get("flag", []), f"{where} flag"),
        ok=_strings(raw.get("ok", []), f"{where} ok"), source=source,
    )


def parse(data: dict, source: str, into: dict[str, Item] | None = None,
          linear: bool = False) -> tuple[dict[str, Item], str]:
    """Items of one checklist file; `linear`: a practice's file, its patterns run by RE2 (see _compile)."""
    unknown = set(data) - FILE_KEYS
    if unknown:
        raise ChecklistError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(FILE_KEYS))}")
    items = into if into is not None else {}
    checklist = data.get("checklist", "rescuing")
    if checklist not in ("rescuing", "crisis"):
        raise ChecklistError(f"{source}: 'checklist' must be \"rescuing\" or \"crisis\"")
    for n, raw in enumerate(data.get("item", []), 1):
        if not isinstance(raw, dict):
            raise ChecklistError(f"{source}: item #{n} must be a [[item]] table")
        item = _item(raw, checklist, source, n, linear)
        if item.id in items and items[item.id].source != source:
            raise ChecklistError(f"{source}: item {item.id} already exists; use [[extend]] with id = \"{item.id}\" to add cues or examples")
        items[item.id] = item
    for n, raw in enumerate(data.get("extend", []), 1):
        where = f"{source}: extend #{n} ({raw.get('id', '?')})"
        if set(raw) - EXTEND_KEYS:
            raise ChecklistError(f"{where}: unknown key(s) {', '.join(sorted(set(raw) - EXTEND_KEYS))}; allowed: {', '.join(sorted(EXTEND_KEYS))}")
        target = items.get(raw.get("id", ""))
        if target is None:
            raise ChecklistError(f"{where}: no item with id {raw.get('id')!r} to extend; known: {', '.join(sorted(items))}")
        if raw.get("unless_near") and target.checklist != "crisis":
            raise ChecklistError(f"{where}: 'unless_near' is read for crisis items only; use 'unless' for {target.id}")
        for key in ("cues", "unless", "unless_near", "also"):
            getattr(target, key).extend(_compile(p, f"{where} {key}[{k}]", linear)
                                        for k, p in enumerate(_strings(raw.get(key, []), f"{where} {key}")))
        target.flag.extend(_strings(raw.get("flag", []), f"{where} flag"))
        target.ok.extend(_strings(raw.get("ok", []), f"{where} ok"))
    return items, str(data.get("version", "1"))


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ChecklistError(f"{path}: checklist file not found; check the path under [checklists] files") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChecklistError(f"{path}: not valid TOML ({exc})") from None


def _shipped(name: str) -> dict:
    return tomllib.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def load(extra: list[Path] | tuple[Path, ...] = ()) -> Checklists:
    """The shipped checklists plus a practice's own files, in order."""
    items: dict[str, Item] = {}
    versions = []
    for name in ("rescuing.toml", "crisis.toml"):
        _, v = parse(_shipped(name), f"notesplugin/checklists/{name}", items)
        versions.append(v)
    for path in extra:
        _, v = parse(read_toml(path), str(path), items, linear=True)
        versions.append(f"{Path(path).name}:{v}")
    return Checklists(items=list(items.values()), version="+".join(versions))


def load_lenient(extra: list[Path] | tuple[Path, ...] = ()) -> Checklists:
    """load(extra), or the shipped checklists alone when a practice file is broken: for
    reading item keys after the fact (gaps, letters); scan and doctor report the breakage."""
    try:
        return load(extra)
    except ChecklistError:
        return load()


def lexicon() -> dict:
    return _shipped("lexicon.toml")
