"""Data flows one way: no writer module imports a reader module, directly or through
another notesplugin module (the reader hands the writer a notesplugin.sources record)."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "notesplugin"


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """notesplugin modules a file imports (every form, also inside functions), with their packages."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in out if m.startswith("notesplugin")}


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in PKG.rglob("*.py")}


def _reached(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Modules reachable from start -> the module that imports them (for the message)."""
    seen, todo = {start: ""}, [start]
    while todo:
        mod = todo.pop()
        for dep in graph.get(mod, ()):
            if dep not in seen:
                seen[dep] = mod
                todo.append(dep)
    return seen


def test_no_writer_imports_a_reader_module():
    graph = _graph()
    writers = sorted(m for m in graph if m.startswith("notesplugin.writers."))
    assert {"notesplugin.writers.csv_writer", "notesplugin.writers.docx_writer",
            "notesplugin.writers.xlsx_writer"} <= set(writers)
    for writer in writers:
        reached = _reached(graph, writer)
        bad = sorted(m for m in reached if m == "notesplugin.readers" or m.startswith("notesplugin.readers."))
        assert not bad, f"{writer} imports {bad[0]} (via {reached[bad[0]]})"


def test_the_check_sees_an_import_through_another_module(tmp_path):
    """The graph walk would catch a reader reached through a helper module."""
    graph = {"notesplugin.writers.w": {"notesplugin.helper"}, "notesplugin.helper": {"notesplugin.readers.x"}}
    assert "notesplugin.readers.x" in _reached(graph, "notesplugin.writers.w")
    imports = _imports(PKG / "pipeline.py")
    assert "notesplugin.readers" in imports and "notesplugin.readers.sniff" in imports
