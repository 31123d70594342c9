#!/usr/bin/env python3
"""Fails if the desktop shell's modules (src-tauri/) import each other in a circle.

Each file is a module (src-tauri/commands/* count as one, `commands`); a module depends on
another when it names `crate::other`. lib.rs, the root that declares them all, is left out.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "src-tauri"
edges = {}
for path in sorted(root.rglob("*.rs")):
    rel = path.relative_to(root)
    module = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    if module in ("lib", "main"):
        continue
    code = "\n".join(
        line.split("//", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()
    )
    used = {m for m in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", code) if m != module}
    edges.setdefault(module, set()).update(used)

cycles = []
state = {}


def visit(module, trail):
    state[module] = "open"
    for other in sorted(edges.get(module, ())):
        if state.get(other) == "open":
            cycles.append(trail[trail.index(other):] + [other])
        elif other not in state:
            visit(other, trail + [other])
    state[module] = "done"


for module in sorted(edges):
    if module not in state:
        visit(module, [module])

if cycles:
    for cycle in cycles:
        print("src-tauri imports in a circle: " + " -> ".join(cycle), file=sys.stderr)
    sys.exit(1)
print(f"check-shell-imports: {len(edges)} modules of src-tauri, no import circle")
