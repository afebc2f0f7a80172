"""Writers: annotated copies of inputs. Never touch the input; write atomically."""

from notesplugin.model import InputError


def changed_input(name: str) -> InputError:
    """The one line for an input saved again between its reading and its copy: the copy would
    land on bytes the reader did not read."""
    return InputError(f"{name}: the file changed while it was being read, so no copy was written; run the scan again")
