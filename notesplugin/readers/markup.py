"""A note cell that holds markup rather than text: a web EHR's rich-text editor exports its HTML
(`<p>...</p><br>&#39;`), a portal its JSON (`{"subjective": "...", "plan": "..."}`). The checklists
read sentences, so the cell is read as the text a clinician sees: paragraphs as lines, entities
as characters, JSON fields as `Label: value` lines. Anything else is returned as it is."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

_HTML = re.compile(r"<\s*/?\s*(p|br|div|span|li|ul|ol|b|i|u|strong|em|font|h[1-6]|table|tr|td)\b[^>]*>", re.I)
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}
_SKIP = {"script", "style"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _lines(text: str) -> str:
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _json_lines(value, label: str = "") -> list[str]:
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _json_lines(v, str(k).replace("_", " ").strip())]
    if isinstance(value, list):
        return [line for v in value for line in _json_lines(v, label)]
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return []
    text = plain_text(str(value)).strip()
    return [f"{label[:1].upper()}{label[1:]}: {text}" if label else text]


def plain_text(cell: str) -> str:
    """The text of a note cell that holds HTML or a JSON object; other cells unchanged."""
    if "<" in cell and _HTML.search(cell):
        parser = _Text()
        try:
            parser.feed(cell)
            parser.close()
        except (ValueError, AssertionError):  # not HTML after all
            return cell
        return _lines("".join(parser.parts))
    stripped = cell.strip()
    if stripped[:1] == "{" and stripped[-1:] == "}":
        try:
            data = json.loads(stripped)
        except ValueError:
            return cell
        if isinstance(data, dict):
            return "\n".join(_json_lines(data)) or cell
    return cell
