"""Consultation-request and training-referral letters for a repeated gap.

The text comes from a Jinja2 Markdown template (the practice's templates folder
first, then notesplugin/templates); the DOCX is built from that text with
python-docx, on the practice letterhead when one is configured.

De-identified by default: no client names, no note text, no date finer than
the week. Excerpts are opt-in, and because the ledger never stores note text
they can only come from the findings of the current scan.
"""
from __future__ import annotations

import functools
import io
import re
import tomllib
import traceback
import zipfile
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import jinja2
from jinja2.exceptions import SecurityError
from docx import Document
from docx.opc.exceptions import PackageNotFoundError

from .checklists import load_lenient
from .config import Config, Person
from .escape import file_part, markdown_text, xml_text
from .fileio import ensure_dir, write_atomic, write_text_atomic
from .gaps import Gap, week_of
from .model import Finding, Note
from .sandbox import BoundedSandbox, TooSlow, render
from .writers.opc import Package

KINDS = ("consultation-request", "training-referral")


class LetterError(Exception):
    """One line: the template or letterhead and the fix."""


@dataclass
class LetterFiles:
    kind: str
    markdown: Path
    docx: Path

    def to_dict(self) -> dict:
        return {"kind": self.kind, "markdown": str(self.markdown), "docx": str(self.docx)}


@functools.lru_cache(maxsize=1)
def load_topics() -> dict[str, dict]:
    text = resources.files("notesplugin").joinpath("data/topics.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def make_environment(config: Config) -> jinja2.Environment:
    """One environment per templates folder and process: templates compile once per run
    (Jinja still reloads a template whose file changed)."""
    return _environment(str(config.templates_dir) if config.templates_dir else None)


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders.append(jinja2.FileSystemLoader(str(resources.files("notesplugin").joinpath("templates"))))
    # Sandboxed: a practice template is data, never code (no dunder walks to os.popen).
    # Markdown, not HTML: no autoescape; values are Markdown-escaped in letter_context,
    # and DOCX text goes through python-docx, which escapes XML itself.
    return BoundedSandbox(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                                autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _template_error(name: str, exc: Exception) -> LetterError:
    line = getattr(exc, "lineno", None)
    if line is None:  # runtime errors: Jinja maps template lines into the traceback
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.endswith(".j2") or frame.filename == "<template>":
                line = frame.lineno
                break
    msg = str(getattr(exc, "message", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, SecurityError):  # the sandbox refused: say so plainly, without Python's type names
        what = re.search(r"attribute '([^']*)'", msg)
        msg = (f"'{what.group(1)}' is not allowed in letter templates" if what
               else f"{msg.rstrip('.')} (not allowed in letter templates)")
    where = f"{name}, line {line}" if line else name
    return LetterError(f"letter template {where}: {msg}; fix the template or remove it to use the built-in one")


def _person(p: Person) -> str:
    return ", ".join(x for x in (p.name, p.role) if x)


def _initials(name: str) -> str:
    return "".join(w[0].upper() + "." for w in re.findall(r"[^\W\d_]+", name))


def deidentify(text: str, client: str) -> str:
    """Client name (whole and by part) -> initials; dates -> [date]."""
    init = _initials(client)
    parts = sorted({client.strip(), *re.findall(r"[^\W\d_]{2,}", client)}, key=len, reverse=True)
    for p in parts:
        if p:
            text = re.sub(rf"(?<!\w){re.escape(p)}(?!\w)", init, text, flags=re.IGNORECASE)
    text = re.sub(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b", "[date]", text)
    return " ".join(text.split())


def excerpts_for(gap: Gap, notes: list[Note], findings: list[Finding], session_key_of) -> list[str]:
    """Evidence of this gap's flagged findings that are in the current scan, de-identified."""
    by_note = {(Path(n.file).name, str(n.note_id)): n for n in notes}
    keys = gap.session_keys
    out: list[str] = []
    for f in findings:
        note = by_note.get((Path(f.file).name, str(f.note_id)))
        if (note is None or f.checklist != "rescuing" or f.status != "flagged" or f.topic != gap.topic
                or not note.date or session_key_of(note) not in keys or not f.evidence):
            continue
        week = week_of(date.fromisoformat(note.date)).isoformat()
        line = f"week of {week}, {f.item} {f.name}: \u201c{deidentify(f.evidence, note.client or f.client)}\u201d"
        if line not in out:
            out.append(line)
    return out


def letter_context(gap: Gap, config: Config, kind: str, *, follow_up: bool = False, new_sessions: int = 0,
                   excerpts: list[str] | None = None, today: date | None = None) -> dict:
    topics = load_topics()
    t = topics.get(gap.topic) or {**topics["other"], "plain": gap.topic}
    counts: dict[str, int] = {}
    for s in gap.sessions:
        for it in s.items:
            counts[it] = counts.get(it, 0) + 1
    # The checklists' names, used when a stored finding carries no name of its own.
    known = {i.id: i.name for i in load_lenient(config.checklists).items} if set(counts) - set(gap.item_names) else {}
    names = {i: markdown_text(gap.item_names.get(i) or known.get(i, "")) for i in counts}
    # Names and topics come from exports: literal text in the Markdown, never markup.
    clinician, topic = markdown_text(gap.clinician), markdown_text(gap.topic)
    sup, con = _person(config.supervisor), _person(config.consultant)
    signature = [sup] if sup else ["Clinical supervision"]
    if config.practice_name:
        signature.append(config.practice_name)
    if kind == "consultation-request":
        greeting = f"Dear {config.consultant.name}," if config.consultant.name else "Dear colleague,"
    else:
        greeting = f"Dear {clinician},"
    on_behalf = f"on behalf of {config.practice_name}" if config.practice_name else "as clinical supervisor"
    first, last = week_of(gap.sessions[0].date), week_of(gap.sessions[-1].date)
    return {
        "kind": kind, "practice_name": config.practice_name, "practice_address": config.practice_address,
        "letter_date": (today or date.today()).isoformat(), "greeting": greeting, "on_behalf": on_behalf,
        "clinician": clinician, "topic": topic, "topic_plain": t.get("plain", topic),
        "period": f"week of {first.isoformat()} and the week of {last.isoformat()}",
        "period_from": first.isoformat(), "period_to": last.isoformat(),
        "n_sessions": len(gap.sessions), "has_r7": gap.has_r7, "exempt_left_out": gap.exempt_left_out,
        "items": [{"id": markdown_text(i), "name": names[i], "count": n} for i, n in sorted(counts.items())],
        "sessions": [{"week": week_of(s.date).isoformat(),
                      "what": ", ".join(f"{markdown_text(i)} {names[i]}".strip() for i in s.items)}
                     for s in gap.sessions],
        "consultation": t.get("consultation", ""), "training": t.get("training", ""),
        "reading": list(t.get("reading", [])),
        "consultation_offer": f"a case consultation with {con}" if con else "a case consultation",
        "follow_up": follow_up, "new_sessions": new_sessions, "excerpts": [markdown_text(x) for x in excerpts or []],
        "closing": "With thanks and best regards,", "signature": signature,
        "supervisor": sup, "consultant": con,
    }


def render_letter(gap: Gap, config: Config, kind: str = "consultation-request", **kw) -> str:
    if kind not in KINDS:
        raise LetterError(f"unknown letter kind '{kind}'; use one of: {', '.join(KINDS)}")
    name = f"{kind}.md.j2"
    if config.templates_dir and not Path(config.templates_dir).is_dir():  # never the built-in one in silence
        raise LetterError(f"{config.templates_dir}: templates folder not found; fix practice.templates in the config")
    env = make_environment(config)
    fix = "fix the template or remove it to use the built-in one"
    try:
        text = render(env.get_template(name), letter_context(gap, config, kind, **kw))
    except jinja2.TemplateNotFound as exc:
        need = "" if exc.name == name else f" (included by {name})"
        raise LetterError(f"letter template {exc.name} not found{need}; put it in the practice templates folder") from None
    except jinja2.TemplateError as exc:
        raise _template_error(name, exc) from None
    except TooSlow as exc:
        raise LetterError(f"letter template {name}: {exc} (a loop too large?); {fix}") from None
    except RecursionError:
        raise LetterError(f"letter template {name}: a macro or include calls itself without end; {fix}") from None
    except MemoryError:
        raise LetterError(f"letter template {name}: too large to render; {fix}") from None
    except UnicodeDecodeError:
        raise LetterError(f"letter template {name} (or one it includes) is not UTF-8 text; save it as UTF-8") from None
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# -- DOCX ---------------------------------------------------------------------
class _Base:
    """The letterhead (or python-docx's default document) parsed once per run: each letter
    clears its body, adds its own paragraphs and saves only word/document.xml anew; the other
    parts (styles, header, footer, images) are copied from the letterhead's bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.doc = Document(io.BytesIO(data))

    def fresh(self):
        body = self.doc.element.body
        for child in list(body):
            if not child.tag.endswith("}sectPr"):  # keep the section: it carries header and footer
                body.remove(child)
        return self.doc

    def save(self, dest: Path) -> None:
        with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
            pkg = Package(zf)
            pkg.put(self.doc.part.partname.membername, self.doc.part.blob)
            pkg.save(dest)


_BASES: dict[tuple, _Base] = {}


def _base_document(config: Config) -> _Base:
    if not config.letterhead:
        key: tuple = ("default",)
        if key not in _BASES:
            buf = io.BytesIO()
            Document().save(buf)
            _BASES[key] = _Base(buf.getvalue())
        return _BASES[key]
    lh = Path(config.letterhead)
    if not lh.is_file():
        raise LetterError(f"{lh}: letterhead not found; fix practice.letterhead in the config")
    try:
        st = lh.stat()
        key = (str(lh.resolve()), st.st_mtime_ns, st.st_size)  # a changed letterhead is read again
        if key not in _BASES:
            _BASES[key] = _Base(lh.read_bytes())
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise LetterError(f"{lh}: letterhead is not a readable .docx; save it as Word .docx and try again") from None
    return _BASES[key]


def _add_runs(par, text: str) -> None:
    # Only unescaped ** is bold; backslash escapes (names, see letter_context) show their character.
    for i, chunk in enumerate(re.split(r"(?<!\\)\*\*", text)):
        chunk = xml_text(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", chunk))  # Markdown's escapes: ASCII punctuation
        if chunk:
            par.add_run(chunk).bold = bool(i % 2)


def _styled(doc, style: str, fallback_prefix: str = ""):
    # Look the style id up once per document: python-docx's by-name lookup
    # scans every style each time (about 3 ms a paragraph).
    ids = doc.__dict__.setdefault("_notesplugin_style_ids", {})
    if style not in ids:
        try:
            ids[style] = doc.styles[style].style_id
        except KeyError:  # a letterhead without that style
            ids[style] = None
    par = doc.add_paragraph()
    if ids[style] is None:
        return par, fallback_prefix
    par._p.style = ids[style]
    return par, ""


def markdown_to_docx(text: str, doc) -> None:
    """The small Markdown the templates use: # headings, - bullets, **bold**, blank-line paragraphs."""
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if all(ln.startswith("- ") for ln in lines):
            for ln in lines:
                par, prefix = _styled(doc, "List Bullet", "\u2022 ")
                _add_runs(par, prefix + ln[2:])
            continue
        m = re.match(r"(#{1,3}) (.*)", lines[0])
        if m and len(lines) == 1:
            par, _ = _styled(doc, f"Heading {len(m.group(1))}")
            _add_runs(par, f"**{m.group(2)}**" if par.style.name == "Normal" else m.group(2))
            continue
        par = doc.add_paragraph()
        for i, ln in enumerate(lines):  # address blocks and signatures keep their lines
            if i:
                par.add_run().add_break()
            _add_runs(par, ln)


def write_letter(gap: Gap, config: Config, out_dir: Path, kind: str = "consultation-request", *,
                 follow_up: bool = False, new_sessions: int = 0, excerpts: list[str] | None = None,
                 today: date | None = None) -> LetterFiles:
    """Write out_dir/letters/<clinician>_<topic>_<kind>_<date>.md and .docx atomically."""
    today = today or date.today()
    text = render_letter(gap, config, kind, follow_up=follow_up, new_sessions=new_sessions,
                         excerpts=excerpts, today=today)
    letterhead = _base_document(config)
    markdown_to_docx(text, letterhead.fresh())
    folder = ensure_dir(Path(out_dir) / "letters", config.dir_mode)
    # Any script kept readable; bytes capped so the name stays under the 255-byte limit.
    stem = (f"{file_part(gap.clinician, 80)}_{file_part(gap.topic, 40)}_{kind}"
            f"{'-follow-up' if follow_up else ''}_{today.isoformat()}")
    n, base = 1, stem
    while (folder / f"{stem}.md").exists() or (folder / f"{stem}.docx").exists():
        n += 1
        stem = f"{base}-{n}"
    md, dx = folder / f"{stem}.md", folder / f"{stem}.docx"
    write_text_atomic(md, text, config.file_mode)
    try:
        write_atomic(dx, letterhead.save, config.file_mode)
    except BaseException:
        md.unlink(missing_ok=True)  # a letter is the pair or nothing: the next scan writes both
        raise
    return LetterFiles(kind, md, dx)
