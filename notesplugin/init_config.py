"""`notesplugin init`: write the commented example config for a practice to fill in."""
from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from .config import ConfigError

TEMPLATE = "data/notesplugin.example.toml"


def template_text() -> str:
    return resources.files("notesplugin").joinpath(TEMPLATE).read_text(encoding="utf-8")


def write_config(path: str | os.PathLike, *, force: bool = False, mode: int = 0o600) -> Path:
    """Write the example config to path. An existing file is kept unless force is set."""
    dest = Path(path).expanduser()
    if dest.is_dir():
        raise ConfigError(f"{dest}: is a folder; give a file name such as {dest / 'notesplugin.toml'}")
    if dest.exists() and not force:
        raise ConfigError(f"{dest}: already exists; edit it, or pass --force to replace it with a fresh template")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(template_text().encode("utf-8"))
            os.fchmod(fh.fileno(), mode)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # refuses to overwrite a file that appeared meanwhile
            except FileExistsError:
                raise ConfigError(f"{dest}: already exists; pass --force to replace it") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
