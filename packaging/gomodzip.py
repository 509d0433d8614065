"""Write a Go module as a GOPROXY serves it (the file:// layout).

usage: gomodzip.py MODULE_DIR MODULE_PATH VERSION UNIX_TIME OUT_DIR

OUT_DIR/<module path>/@v/ gets list, <version>.info, <version>.mod and
<version>.zip, whose entries are <module path>@<version>/<file>, as
`go mod download` expects (golang.org/x/mod/zip's layout).
"""

import datetime
import json
import os
import sys
import zipfile


def main() -> None:
    src, module, version, when, out = sys.argv[1:]
    if module.lower() != module:
        sys.exit("module paths with capitals need the proxy's !-escaping, which this script does not do")
    stamp = datetime.datetime.fromtimestamp(int(when), tz=datetime.timezone.utc)
    at = os.path.join(out, *module.split("/"), "@v")
    os.makedirs(at, exist_ok=True)
    files = []
    for folder, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            files.append((os.path.relpath(full, src).replace(os.sep, "/"), full))
    zip_time = stamp.timetuple()[:6]
    with zipfile.ZipFile(os.path.join(at, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for rel, full in files:
            info = zipfile.ZipInfo("%s@%s/%s" % (module, version, rel), date_time=zip_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(full, "rb") as f:
                z.writestr(info, f.read())
    with open(os.path.join(src, "go.mod"), "rb") as f, open(os.path.join(at, version + ".mod"), "wb") as g:
        g.write(f.read())
    with open(os.path.join(at, version + ".info"), "w") as f:
        json.dump({"Version": version, "Time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ")}, f)
    with open(os.path.join(at, "list"), "w") as f:
        f.write(version + "\n")


if __name__ == "__main__":
    main()
