"""--jobs: the checklist engine is built once in the parent, before the workers fork."""
from __future__ import annotations

from notesplugin import pipeline
from notesplugin.config import Config


def test_engine_built_before_workers_fork(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        (src / f"e{i}.csv").write_text(f"Note ID,Note\nn{i},Client cried; writer moved on.\n", encoding="utf-8")
    seen = []
    real = pipeline.ProcessPoolExecutor

    class Pool(real):
        def __init__(self, *args, **kwargs):
            seen.append(pipeline._ENGINE is not None)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_ENGINE", None)
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", Pool)
    result = pipeline.scan([src], tmp_path / "out", Config(), ledger=False, summary=False, jobs=2)
    assert seen == [True]
    assert not result.failed and len(result.files) == 2
