"""The frame's layers, checked on the source: who may import whom (docs/architecture.md, "Layout").

- ``shared/`` imports nothing above itself: no ``host``, ``ops`` or service;
- a service imports ``shared`` and itself only, never another service, ``host`` or ``ops``;
- ``ops`` (operators' tools) imports ``shared`` only; ``host`` may import everything;
- no import cycle between modules (imports at module level, outside ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "host", "ops")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, *, top_level_only: bool, type_checking: bool = True) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(node: ast.AST, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                if type_checking:
                    visit(child, True)
                continue
            if top_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if isinstance(child, ast.ClassDef):
                    visit(child, guarded)
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative import
                    anchor = (
                        module.split(".")[: -child.level]
                        if path.name != "__init__.py"
                        else module.split(".")[: len(module.split(".")) - child.level + 1]
                    )
                    base = ".".join([*anchor, base] if base else anchor)
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child, guarded)

    visit(tree, False)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _layer(module: str) -> str:
    """``services.tickets`` for anything inside the tickets service, else the top package."""
    parts = module.split(".")
    return f"services.{parts[1]}" if parts[0] == "services" and len(parts) > 1 else parts[0]


def test_layers_import_only_downwards():
    allowed = {"shared": {"shared"}, "ops": {"shared", "ops"}, "host": set(PACKAGES)}
    wrong = []
    for module, path in _modules().items():
        layer = _layer(module)
        for target in _imports(path, module, top_level_only=False):
            target_layer = _layer(target)
            if layer.startswith("services."):
                ok = target_layer in ("shared", layer) or target == "services"
            else:
                ok = target_layer.split(".")[0] in allowed[layer]
            if not ok:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    """Counting imports inside functions too (a deferred import hides a cycle, it does not remove it);
    imports for type checking only are not followed."""
    modules = _modules()
    graph = {
        m: {
            t for t in _imports(p, m, top_level_only=False, type_checking=False) if t in modules and not m.startswith(t)
        }
        for m, p in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert not cycles, "\n".join(cycles)
