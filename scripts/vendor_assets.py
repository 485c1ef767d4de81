"""Copy the front-end assets from node_modules into the package, where they are committed.

Run after changing package.json:

    npm ci && .venv/bin/python scripts/vendor_assets.py

The app serves only these vendored files (no npm and no CDN at run time). ``manifest.json``
records each file's package, version and SHA-256 so a test can check that what is committed is
what package-lock.json pins. Tools that only the tests use (axe-core, the accessibility checker
of the browser tests) go to ``tests/browser/vendor/`` with a manifest of their own, so that the
app never serves them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "signaal" / "web" / "static" / "vendor"
TEST_VENDOR = ROOT / "tests" / "browser" / "vendor"

# package name -> files to copy (path inside the package -> name in the vendor folder)
ASSETS: dict[str, dict[str, str]] = {
    "htmx.org": {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "htmx.LICENSE.txt"},
    # Charts of "Mijn gemeente": canvas, no eval and no inline style attributes, so it runs
    # under the app's CSP (it sets styles through the CSSOM, which the CSP allows).
    "uplot": {
        "dist/uPlot.iife.min.js": "uPlot.iife.min.js",
        "dist/uPlot.min.css": "uPlot.min.css",
        "LICENSE": "uPlot.LICENSE.txt",
    },
    # The browser tests run it in the page (through the DevTools protocol, not a <script>).
    "axe-core": {
        "axe.min.js": "axe.min.js",
        "LICENSE": "axe-core.LICENSE.txt",
        "LICENSE-3RD-PARTY.txt": "axe-core.LICENSE-3RD-PARTY.txt",
    },
}
# Where a package's files go (default: the app's static/vendor/).
DESTINATIONS: dict[str, Path] = {"axe-core": TEST_VENDOR}


def main() -> int:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    manifests: dict[Path, dict[str, dict[str, str]]] = {}
    for package, files in ASSETS.items():
        folder = DESTINATIONS.get(package, VENDOR)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = manifests.setdefault(folder, {})
        installed = ROOT / "node_modules" / package
        if not installed.is_dir():
            print(f"{installed} is missing: run `npm ci` first", file=sys.stderr)
            return 1
        version = json.loads((installed / "package.json").read_text(encoding="utf-8"))["version"]
        locked = lock["packages"][f"node_modules/{package}"]["version"]
        if version != locked:
            print(f"{package}: node_modules has {version}, lock has {locked}", file=sys.stderr)
            return 1
        for source, target in files.items():
            shutil.copyfile(installed / source, folder / target)
            digest = hashlib.sha256((folder / target).read_bytes()).hexdigest()
            manifest[target] = {"package": package, "version": version, "sha256": digest}
            print(f"vendored {package}@{version} {source} -> {target}")
    for folder, manifest in manifests.items():
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
