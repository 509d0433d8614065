#!/usr/bin/env python3
"""The project's links and licence, set in one place: Cargo.toml's [workspace.package].

`repository`, `homepage`, `documentation` and `license` there are what every
other package says about the project:

- bindings/node/package.json: "license", "homepage", "repository" (with the
  binding's folder), "bugs";
- bindings/python/pyproject.toml: `license` and [project.urls], which become
  the wheel's License and Project-URL fields;
- bindings/go/README.md: the paragraph between the metadata markers (a Go
  module carries no metadata of its own beyond go.mod).

    python3 packaging/metadata.py           writes them from Cargo.toml
    python3 packaging/metadata.py --check   fails, naming each file, when one differs

Standard library only (Python 3.9+).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO = ROOT / "Cargo.toml"
PACKAGE_JSON = ROOT / "bindings/node/package.json"
PYPROJECT = ROOT / "bindings/python/pyproject.toml"
GO_README = ROOT / "bindings/go/README.md"

KEYS = ("repository", "homepage", "documentation", "license")
GO_BEGIN = "<!-- metadata: written by packaging/metadata.py from Cargo.toml -->"
GO_END = "<!-- /metadata -->"


def cargo_metadata(text: str) -> "dict[str, str]":
    """The KEYS of Cargo.toml's [workspace.package] section (one-line string
    values), which every package of the workspace inherits."""
    found: "dict[str, str]" = {}
    section = None
    for line in text.splitlines():
        header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1).strip()
            continue
        m = re.match(r'^\s*([a-z_-]+)\s*=\s*"([^"]*)"\s*$', line)
        if section == "workspace.package" and m and m.group(1) in KEYS:
            found[m.group(1)] = m.group(2)
    missing = [k for k in KEYS if k not in found]
    if missing:
        raise SystemExit("metadata.py: Cargo.toml's [workspace.package] lacks %s" % ", ".join(missing))
    return found


def package_json(text: str, meta: "dict[str, str]") -> str:
    pkg = json.loads(text)
    out = {}
    for key, value in pkg.items():
        if key in ("homepage", "repository", "bugs"):
            continue
        out[key] = meta["license"] if key == "license" else value
        if key == "license":
            out["homepage"] = meta["homepage"]
            out["repository"] = {
                "type": "git",
                "url": "git+%s.git" % meta["repository"],
                "directory": "bindings/node",
            }
            out["bugs"] = {"url": meta["repository"] + "/issues"}
    return json.dumps(out, indent=2) + "\n"


def pyproject(text: str, meta: "dict[str, str]") -> str:
    text = re.sub(r'(?m)^license = .*$', 'license = { text = "%s" }' % meta["license"], text, count=1)
    urls = (
        "[project.urls]\n"
        'Homepage = "%s"\n'
        'Documentation = "%s"\n'
        'Repository = "%s"\n'
        'Issues = "%s/issues"\n' % (meta["homepage"], meta["documentation"], meta["repository"], meta["repository"])
    )
    if "[project.urls]" in text:
        return re.sub(r"(?ms)^\[project\.urls\]\n.*?(?=^\[|\Z)", urls + "\n", text, count=1)
    return text.replace("\n[tool.setuptools]\n", "\n" + urls + "\n[tool.setuptools]\n", 1)


def go_readme(text: str, meta: "dict[str, str]") -> str:
    block = (
        "%s\nRepository: <%s>.\nDocumentation: <%s>, and `go doc` (or pkg.go.dev) for\nthis package.\nLicence: %s.\n%s"
        % (GO_BEGIN, meta["repository"], meta["documentation"], meta["license"], GO_END)
    )
    if GO_BEGIN in text:
        return re.sub(re.escape(GO_BEGIN) + r".*?" + re.escape(GO_END), lambda _: block, text, count=1, flags=re.S)
    # First written after the opening paragraph.
    head, sep, rest = text.partition("\n\n")
    head2, sep2, rest2 = rest.partition("\n\n")
    return head + sep + head2 + sep2 + block + "\n\n" + rest2


def main(argv: "list[str]") -> int:
    check = argv[1:] == ["--check"]
    if argv[1:] not in ([], ["--check"]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    meta = cargo_metadata(CARGO.read_text())
    stale = []
    for path, render in ((PACKAGE_JSON, package_json), (PYPROJECT, pyproject), (GO_README, go_readme)):
        old = path.read_text()
        new = render(old, meta)
        if new != old:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new)
    if check and stale:
        print(
            "metadata.py: %s not as Cargo.toml's [workspace.package] says; run python3 packaging/metadata.py"
            % ", ".join(str(p) for p in stale),
            file=sys.stderr,
        )
        return 1
    if check:
        print("metadata: package.json, pyproject.toml and the Go README agree with Cargo.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
