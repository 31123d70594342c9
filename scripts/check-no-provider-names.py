#!/usr/bin/env python3
"""Fails if the desktop shell or the CLI's commands name a provider.

Adding a provider means a module under crates/porthole-providers/src/<provider>/ and its
descriptor: the shell (src-tauri/, except local.rs, which embeds portholed as the Local server,
and main.rs, which runs portholed's helper) and the CLI's commands (crates/porthole-cli/src/,
except target.rs, which picks a dialect for --base-url and finds the local portholed's key, and
args.rs, whose help text names them) render and act from the descriptors. A provider is named by
its `ProviderKind` variant or by its name in a string. Tests (after `#[cfg(test)]`) and comments
do not count. `--self-test` checks the matcher on examples.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
VARIANT = re.compile(r"\bProviderKind::(ComfyDeploy|Portholed|IbmQuantum|Airplane|Scripted)\b")
NAME = re.compile(r'"[^"\n]*\b(comfy_?deploy|portholed|ibm_?quantum|airplane|scripted)\b[^"\n]*"', re.I)
EXEMPT = {"src-tauri/local.rs", "src-tauri/main.rs", "crates/porthole-cli/src/target.rs",
          "crates/porthole-cli/src/args.rs"}


def without_comment(line):
    """The line up to a `//` that is not inside a string."""
    in_string = False
    for i, c in enumerate(line):
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and line.startswith("//", i):
            return line[:i]
    return line


def findings(code):
    """(line number, text) of each place `code` names a provider, tests and comments aside."""
    code = code.split("#[cfg(test)]", 1)[0]
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        line = without_comment(line)
        if VARIANT.search(line) or NAME.search(line):
            found.append((number, line.strip()))
    return found


def self_test():
    assert findings('let k = ProviderKind::Airplane;') != []
    assert findings('println!("added a portholed account");') != []
    assert findings('let url = "https://api.comfydeploy.com";') != []
    assert findings('// ProviderKind::Portholed in a comment') == []
    assert findings('let d = kind.descriptor(); // "portholed"') == []
    assert findings('fn f() {}\n#[cfg(test)]\nmod tests { const K: ProviderKind = ProviderKind::Portholed; }') == []
    assert findings('let local = crate::local::start();') == []
    print("check-no-provider-names: self-test passed")


if "--self-test" in sys.argv:
    self_test()
    sys.exit(0)

paths = sorted((root / "src-tauri").rglob("*.rs")) + sorted((root / "crates/porthole-cli/src").rglob("*.rs"))
bad = []
for path in paths:
    rel = path.relative_to(root).as_posix()
    if rel in EXEMPT:
        continue
    for number, line in findings(path.read_text(encoding="utf-8")):
        bad.append(f"{rel}:{number}: {line}")
if bad:
    print("These name a provider; render or act from its descriptor instead:", file=sys.stderr)
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"check-no-provider-names: {len(paths) - len(EXEMPT)} files of the shell and the CLI's commands name no provider")
