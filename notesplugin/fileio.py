"""Crash-safe output: everything goes to a temp file beside the target and is
renamed into place only when complete, so a crash never leaves half a file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path


@contextlib.contextmanager
def atomic_path(dest: Path, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temp path in dest's folder; on success it replaces dest."""
    dest = Path(dest)
    # the temp's name fits the file system even when dest's own name is near its limit
    short = dest.name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    fd, tmp = tempfile.mkstemp(prefix=f".{short}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(dest: Path, fill: Callable[[Path], None], mode: int = 0o600) -> None:
    with atomic_path(dest, mode) as tmp:
        fill(tmp)


def write_text_atomic(dest: Path, text: str, mode: int = 0o600) -> None:
    with atomic_path(dest, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
