"""A practice's letter templates run in Jinja's sandbox, and within bounds: a letter is a
page or two, so a template that loops for minutes or writes megabytes is a fault to name,
not a letter to wait for (a scan, and `doctor`, used to hang or run out of memory on one).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_CHARS = 200_000  # characters of one rendered letter (the built-in ones are ~3,000)
MAX_SECONDS = 10     # to render one letter
MAX_POWER = 1024     # the largest exponent `**` may take


class TooSlow(Exception):
    """The template took longer than MAX_SECONDS to render."""


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with `*` and `**` checked before they run: "'x' * 10**9" is refused instead
    of built (Jinja then also leaves such constants unfolded when it compiles a template)."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_CHARS:
                    raise SecurityError(f"a repeated value over {MAX_CHARS:,} characters")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_POWER:
            raise SecurityError(f"a power above {MAX_POWER}")
        return super().call_binop(context, operator, left, right)


def render(template, context: dict) -> str:
    """The template's text, streamed so its size is known as it grows; over MAX_CHARS raises
    SecurityError, over MAX_SECONDS (where a timer can be set) TooSlow."""
    out, size = [], 0
    with _time_limit(MAX_SECONDS):
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_CHARS:
                raise SecurityError(f"the letter is over {MAX_CHARS:,} characters")
            out.append(chunk)
    return "".join(out)


@contextlib.contextmanager
def _time_limit(seconds: float):
    # A loop that writes nothing never hands back a chunk to check, so the clock is a timer
    # signal. Only the main thread may set one (the scan writes letters there); elsewhere
    # the size bound still holds.
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise TooSlow(f"took over {seconds:g} s to render")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
