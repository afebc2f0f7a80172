"""The text of a finding's note in an annotated copy: one wording for Word comments and PDF popups."""
from __future__ import annotations

from notesplugin.model import Finding


def comment_text(f: Finding) -> list[str]:
    """Comment paragraphs: 'R3 reassure — reason' and, if exempt, 'exempt: crisis C1'."""
    reason = " ".join(f.reason.split())
    lines = [f"{f.item} {f.name} — {reason}" if reason else f"{f.item} {f.name}"]
    if f.status == "exempt" and "(exempt: crisis" not in reason:  # the engine's reason names it already
        lines.append(f"exempt: crisis {', '.join(f.exempt_by) or '(unnamed)'}")
    return lines
