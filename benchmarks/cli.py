"""Median wall time of `gongwen --help`, `show`, `list` and `worklist` on the demo workspace.

Each command runs as a real process, as a clerk would start it. Printed beside them, the floors:
`python -c pass`, and importing SQLAlchemy's Core and its ORM alone (what every command that
reads the database pays before it reads anything). Targets: --help under 0.3 s (imports are kept
lazy); show, list and worklist under 0.25 s (issue 16), which on this machine is below the import
of SQLAlchemy itself: the last column says how much of each command is that import."""

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
            ("import sqlalchemy (Core floor)", [sys.executable, "-c", "import sqlalchemy"], 0.0),
            ("import sqlalchemy.orm (ORM floor)", [sys.executable, "-c", "import sqlalchemy.orm"], 0.0),
            ("gongwen --help", [gongwen, "--help"], 0.3),
            (f"gongwen show {key}", [gongwen, "--as", "zhaomin", "show", key], 0.25),
            ("gongwen list", [gongwen, "--as", "zhaomin", "list"], 0.25),
            ("gongwen worklist", [gongwen, "--as", "chenjing", "worklist"], 0.25),
        ]
        print(f"{'command':<34} {'median s':>9} {'target s':>9}         {'of it, importing SQLAlchemy'}")
        floors: dict[str, float] = {}
        for label, command, target in rows:
            seconds = median_seconds(command, args.runs, demo)
            floors.setdefault(label.split(" (")[0], seconds)
            verdict = "" if not target else ("ok  " if seconds < target else "OVER")
            share = floors.get("import sqlalchemy.orm", 0.0) / seconds if target and label != "gongwen --help" else 0
            print(f"{label:<34} {seconds:9.3f} {target or '':>9} {verdict:>6}"
                  + (f"   {share:6.0%}" if share else ""))


if __name__ == "__main__":
    main()
