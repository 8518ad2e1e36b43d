"""Transitions per second with 1, 2, 4 and 8 concurrent clerk processes, on SQLite and on
PostgreSQL (a throwaway server from the pgserver package, the `test` extra).

Each cell is a fresh workspace (a fresh database) with the demo's users; the processes are the
workers of the concurrency test (tests/clerk_worker.py `plan`), started and then released
together; each takes its share of --items plan items through create → submit → forward →
approve → publish (5 writes per item, each rendering its Word document inside its transaction).
Time runs from the release to the last process's end. A worker's error fails the run (exit 1).
Printed besides: the median time the write lock was held, and how busy the machine's cores were
over the cell (/proc/stat: the clerks and the database server together). When one process keeps
about one core of two busy (its own work and the server's, alternating), more processes can at
most double the rate, and only as far as the cores are left idle.

    python benchmarks/concurrency.py [--items 200] [--processes 1,2,4,8] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import clerk_worker as worker  # noqa: E402


def workspace(root: Path, db_url: str | None):
    from helpers import USERS, add_users, use_classic

    from workflow.store.workspace import init

    ws = init(root, db_url=db_url)
    use_classic(ws.root)  # the workers' path (create, submit, forward, approve, publish) is the classic plan's
    add_users(ws, USERS)  # keys in this account's folder (GONGWEN_CONFIG_HOME), used by the clerks
    return ws


def pg_database(server) -> str:
    name = "bench_" + uuid.uuid4().hex[:10]
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


def run(folder: Path, db_url: str | None, processes: int, items: int) -> dict:
    from workflow.audit.verify import verify

    ws = workspace(folder / "ws", db_url)
    shares = [items // processes + (1 if i < items % processes else 0) for i in range(processes)]
    start = folder / "start"
    clerks = [worker.launch(ws.root, "plan", share, start=start) for share in shares]
    busy_before = cpu_times()
    released = worker.release(clerks, start)
    done = worker.results(clerks)
    busy_after = cpu_times()
    for d in done:
        if d["code"] != 0 or not d["result"] or d["result"]["error"]:
            raise SystemExit(f"a worker failed: {(d['result'] or {}).get('error') or d['stderr']}")
    seconds = max(d["result"]["ended"] for d in done) - released
    transitions = sum(d["result"]["transitions"] for d in done)
    holds = sorted(h for d in done for h in d["result"].get("lock_holds", []))
    report = verify(ws.db)
    ws.close()
    if not report.ok:
        raise SystemExit(f"audit verify failed: {report.problems[:3]}")
    busy = ((busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
            if busy_before and busy_after and busy_after[1] > busy_before[1] else float("nan"))
    return {"transitions": transitions, "seconds": seconds, "per_second": transitions / seconds,
            "hold_ms": 1000 * holds[len(holds) // 2] if holds else float("nan"), "busy": busy}


def cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all the machine's cores (/proc/stat), or None off Linux: how much of
    the machine the clerks and the database server used, which bounds what more processes gain."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle and iowait
    return sum(fields) - idle, sum(fields)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="plan items per cell, shared among the processes")
    parser.add_argument("--processes", default="1,2,4,8")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    databases = args.databases.split(",")

    with tempfile.TemporaryDirectory(prefix="gongwen-bench-") as temp:
        temp = Path(temp)
        server = None
        if "postgresql" in databases:
            try:
                import pgserver
            except ImportError:
                print("postgresql: pgserver is not installed (pip install -e '.[test]'); skipped")
                databases.remove("postgresql")
            else:
                os.environ.setdefault("XDG_RUNTIME_DIR", str(temp))
                server = pgserver.get_server(str(temp / "pg"), cleanup_mode="stop")
        table = {}
        try:
            for database in databases:
                for n in counts:
                    folder = temp / f"{database}-{n}"
                    folder.mkdir()
                    url = pg_database(server) if database == "postgresql" else None
                    table[database, n] = cell = run(folder, url, n, args.items)
                    print(f"  {database:<10} {n} processes: {cell['transitions']} transitions in "
                          f"{cell['seconds']:.1f} s", file=sys.stderr, flush=True)
        finally:
            if server is not None:
                server.cleanup()

    print(f"\nplan items through 5 writes each (create, submit, forward, approve, publish); "
          f"{args.items} items per cell; {os.cpu_count()} CPUs")
    header = "| processes | " + " | ".join(f"{d} transitions/s | {d} transitions (s) | {d} lock held, median ms | "
                                           f"{d} CPU busy" for d in databases) + " |"
    print(header)
    print("|" + "---|" * (1 + 4 * len(databases)))
    for n in counts:
        cells = [f"{table[d, n]['per_second']:.0f} | {table[d, n]['transitions']} ({table[d, n]['seconds']:.1f}) | "
                 f"{table[d, n]['hold_ms']:.2f} | {table[d, n]['busy']:.0%}" for d in databases]
        print(f"| {n} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
