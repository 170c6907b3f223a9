"""Headless Chromium for the steward report: console messages of a page, and a PNG screenshot.

python -m fhirmony.quality.browser RELEASE_DIR_OR_HTML -o report.png
python -m fhirmony.quality.browser --sample -o report.png   # a synthetic release (make report-screenshot)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\]\s*(.*)")


@dataclass
class Page:
    dom: str
    console: list[str]


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, /usr/bin/chromium, or the first candidate on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and Path(explicit).exists():
        return explicit
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("Chromium not found: install the Debian packages chromium and chromium-driver")
    with tempfile.TemporaryDirectory(prefix="fhirmony-chromium-") as profile:
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def load(html: Path, timeout: float = 90) -> Page:
    """Render `html` (scripts run) and return the resulting DOM and every console message."""
    done = _run(["--enable-logging=stderr", "--v=0", "--dump-dom", Path(html).resolve().as_uri()], timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Page(done.stdout, console)


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 2400, timeout: float = 90) -> Path:
    """Write a PNG of the rendered page."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    size = f"--window-size={width},{height}"
    done = _run(["--hide-scrollbars", size, f"--screenshot={png}", Path(html).resolve().as_uri()], timeout)
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot ({done.returncode}): {done.stderr[-2000:]}")
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the steward report with headless Chromium.")
    parser.add_argument("target", nargs="?", type=Path, help="a release folder or a report.html")
    parser.add_argument("--sample", action="store_true", help="build a synthetic release and its report first")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.png"))
    parser.add_argument("--workdir", type=Path, help="where --sample builds its releases (default: a new temp folder)")
    args = parser.parse_args(argv)
    if args.sample:
        from fhirmony.quality.sample import build_sample_release

        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fhirmony-sample-"))
        release = build_sample_release(workdir)
        html = release / "quality" / "report.html"
        print(f"sample release: {release}", file=sys.stderr)
    elif args.target is None:
        parser.error("give a release folder, a report.html, or --sample")
    else:
        html = args.target / "quality" / "report.html" if args.target.is_dir() else args.target
        if not html.exists():
            from fhirmony.quality.report import write_report

            html = write_report(args.target)
    page = load(html)
    for message in page.console:
        print(f"console: {message}", file=sys.stderr)
    print(screenshot(html, args.output))
    return 1 if page.console else 0


if __name__ == "__main__":
    raise SystemExit(main())
