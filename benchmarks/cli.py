"""Median wall time of `gongwen --help` and `gongwen show` on the demo workspace.

Targets: --help under 0.3 s, show under 0.5 s (imports are kept lazy). Each command runs as a
real process, as a clerk would start it; `python -c pass` is printed beside them as the floor."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(command: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    gongwen = shutil.which("gongwen") or str(Path(sys.executable).with_name("gongwen"))
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        made = subprocess.run([gongwen, "--json", "demo", str(demo)], capture_output=True, text=True, check=True)
        key = json.loads(made.stdout)["items"][0]["key"]
        rows = [
            ("python -c pass (floor)", [sys.executable, "-c", "pass"], 0.0),
            ("import sqlalchemy.orm (its floor)", [sys.executable, "-c", "import sqlalchemy.orm"], 0.0),
            ("gongwen --help", [gongwen, "--help"], 0.3),
            (f"gongwen show {key}", [gongwen, "--as", "zhaomin", "show", key], 0.5),
        ]
        print(f"{'command':<32} {'median s':>9} {'target s':>9}")
        for label, command, target in rows:
            seconds = median_seconds(command, args.runs, demo)
            verdict = "" if not target else ("ok" if seconds < target else "OVER")
            print(f"{label:<32} {seconds:9.3f} {target or '':>9} {verdict}")


if __name__ == "__main__":
    main()
