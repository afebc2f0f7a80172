"""The shipped model is reproducible from the repo: one command, fixed seed, same bytes."""
from __future__ import annotations

import pytest

pytest.importorskip("sklearn", reason="training needs the [train] extra (scikit-learn)")


def test_retraining_reproduces_the_shipped_weights(capsys):
    from notesplugin.learned.train import main

    assert main(["--check"]) == 0, capsys.readouterr().out
