"""A clerk process for the concurrency and crash tests and benchmarks/concurrency.py.

Run as `python tests/clerk_worker.py --home WS [--start FILE] MODE ...`. Every mode first imports
gongwen, opens its own Workspace and Engine on the shared database (the workspace's config names
it: its SQLite file or a PostgreSQL URL) and warms up (connects, parses the plan definition,
compiles its templates), prints `ready` and, given --start, waits until that file exists: the
test releases all its processes at once. Then:

  plan N     create N plan items and take each through create → submit (zhangwei) → forward (lina)
             → approve (wangqiang) → publish (chenjing); print one JSON line (keys, transitions,
             start/end times, and the first error, which stops the process: nothing is retried).
  crash      for ever: take every unfinished item one transition further, else create one; the
             test kills it (SIGKILL) at random moments.
  finish     take every unfinished item to publish, then print a JSON line and exit.
  cli ARGS   the gongwen command line in this process (`cli ARGS`), exiting with its exit code:
             two of these started together race on one item with real `gongwen do` commands.

Every transition is fired with the version the clerk last saw (`expected_version`). Exit codes:
0 done, 1 an error was reported in the JSON line (the CLI mode: the CLI's own). `launch`,
`release` and `results` drive such processes from a test or the benchmark; `database_facts` and
`consistency_problems` are what the tests check afterwards."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

PLAN = [("submit", "zhangwei"), ("forward", "lina"), ("approve", "wangqiang"), ("publish", "chenjing")]
NEXT = {"draft": ("submit", "zhangwei"), "review": ("forward", "lina"),
        "approve": ("approve", "wangqiang"), "signed": ("publish", "chenjing")}
WORKER = Path(__file__).resolve()
REPO = WORKER.parents[1]
NOW = "2025-03-10T09:00:00"


# -- the worker side -------------------------------------------------------------------------
def plan_values(year: int = 2025) -> dict:
    return {"title": f"某某县教育局{year}年工作要点", "year": year, "kind": "工作要点", "department": "办公室",
            "sections": [{"heading": "推进学前教育普及普惠", "content": "新建公办幼儿园。", "due": f"{year}-12-31"}]}


def _wait_for(start: str | None) -> None:
    print("ready", flush=True)
    if start:
        while not os.path.exists(start):
            time.sleep(0.002)


def _open(home: str):
    from workflow.documents.renderer import compile_template
    from workflow.engine import registry
    from workflow.engine.engine import Engine
    from workflow.store.workspace import Workspace

    workspace = Workspace(Path(home))
    engine = Engine(workspace)
    # warm before the start: connect, parse the definition, compile its templates
    engine.list_items("zhangwei", state="none")
    plan = registry.current(workspace, "plan")
    for name in {name for tr in plan.transitions.values() for name in tr.templates}:
        compile_template((workspace.templates_dir / "plan" / name).read_bytes(), f"plan/{name}")
    return workspace, engine


def _error(exc: BaseException, **where) -> dict:
    from workflow.errors import GongwenError

    return {"type": type(exc).__name__, "message": getattr(exc, "message", None) or str(exc),
            "exit_code": exc.exit_code if isinstance(exc, GongwenError) else None,
            "traceback": traceback.format_exc(limit=8), **where}


def run_plan(engine, items: int) -> dict:
    keys, transitions, error = [], 0, None
    for _ in range(items):
        step, key = "create", None
        try:
            view = engine.create("zhangwei", "plan", values=plan_values())
            key = view.key
            keys.append(key)
            transitions += 1
            for step, login in PLAN:  # each step on the version this clerk saw: a lost update would conflict
                view = engine.fire(login, key, step, expected_version=view.version)
                transitions += 1
        except Exception as exc:  # reported, never retried: the test fails on it
            error = _error(exc, key=key, step=step)
            break
    return {"keys": keys, "transitions": transitions, "error": error}


def unfinished(engine) -> list:
    """The items not yet published (summaries: key, state, version)."""
    return [v for v in engine.list_items("zhaomin") if v.state in NEXT]


def advance(engine, view):
    """Fire the item's next step on the version last seen; returns the new view."""
    transition, login = NEXT[view.state]
    return engine.fire(login, view.key, transition, expected_version=view.version)


def run_finish(engine) -> dict:
    transitions, error = 0, None
    try:
        for view in unfinished(engine):
            while view.state in NEXT:
                view = advance(engine, view)
                transitions += 1
    except Exception as exc:
        error = _error(exc)
    return {"transitions": transitions, "error": error}


def run_crash(engine) -> None:
    while True:  # until killed
        pending = unfinished(engine)
        if pending:
            for view in pending:
                advance(engine, view)
        else:
            engine.create("zhangwei", "plan", values=plan_values())


# -- the launching side (tests, benchmark) ----------------------------------------------------
def launch(home, mode: str, *rest, start=None, now: str = NOW, stdout=None):
    """Start a worker process: its own interpreter, nothing inherited but the environment
    (less GONGWEN_*, plus the fixed clock)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    env["GONGWEN_NOW"] = now
    if os.environ.get("GONGWEN_CONFIG_HOME"):  # the account's keys: the workers act as the test's users
        env["GONGWEN_CONFIG_HOME"] = os.environ["GONGWEN_CONFIG_HOME"]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    argv = [sys.executable, str(WORKER), "--home", str(home), *(["--start", str(start)] if start else []),
            mode, *map(str, rest)]
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")


def wait_ready(process, timeout: float = 120) -> None:
    """Block until the worker printed `ready` (its imports and its first read are done)."""
    import select

    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        readable, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if readable:
            line = process.stdout.readline()
            break
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"worker {process.pid} did not get ready: {line!r} {process.stderr.read()}")


def release(processes, start: Path) -> float:
    """Wait until every process is ready, then start them all at once; returns the start time."""
    for process in processes:
        wait_ready(process)
    started = time.time()
    Path(start).touch()
    return started


def results(processes, timeout: float = 900) -> list[dict]:
    """Each worker's exit code, JSON line (or None) and stderr."""
    found = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        found.append({"code": process.returncode, "result": json.loads(lines[-1]) if lines else None,
                      "stdout": out, "stderr": err})
    return found


# -- what the tests check afterwards -----------------------------------------------------------
def database_facts(url: str) -> dict:
    """Everything the concurrency and crash tests assert on, read through a separate engine:
    items (state, version, numbers), events per item, assigned numbers, counters, blob digests."""
    from sqlalchemy import create_engine, text

    from workflow.store.db import normalise_url

    engine = create_engine(normalise_url(url))
    loads = lambda v: json.loads(v) if isinstance(v, str) else v
    try:
        with engine.connect() as c:
            items = {r.id: {"key": r.key, "state": r.state, "version": r.version, "numbers": loads(r.numbers),
                            "events": []}
                     for r in c.execute(text("SELECT id, key, state, version, numbers FROM items ORDER BY id"))}
            for r in c.execute(text("SELECT item_id, seq, transition, from_state, to_state, actor, data "
                                    "FROM events WHERE item_id IS NOT NULL ORDER BY id")):  # not the @users stream
                items[r.item_id]["events"].append({"seq": r.seq, "transition": r.transition, "from": r.from_state,
                                                   "to": r.to_state, "actor": r.actor, "data": loads(r.data)})
            assigned = [dict(r._mapping) for r in c.execute(text(
                "SELECT name, scope, year, seq, text, item_id FROM assigned_numbers ORDER BY name, scope, year, seq"))]
            counters = {(r.name, r.scope, r.year): r.value
                        for r in c.execute(text("SELECT name, scope, year, value FROM counters"))}
            blobs = set(c.execute(text("SELECT sha256 FROM blobs")).scalars())
    finally:
        engine.dispose()
    return {"items": items, "assigned": assigned, "counters": counters, "blobs": blobs}


def consistency_problems(facts: dict, key_prefix: str = "JH", year: int = 2025) -> list[str]:
    """What must hold however the writers interleaved or died: every item's events numbered
    1..n, each leaving where the next one starts, the item in its last event's state with one
    version per event (no lost update), each event's documents stored; every sequence's numbers
    1..N with its counter at N (no gap, no duplicate, none drawn by a rolled-back transaction),
    each number on its item and in its event; item keys 0001..N. Empty means consistent."""
    problems = []
    for item in facts["items"].values():
        key, events = item["key"], item["events"]
        if [e["seq"] for e in events] != list(range(1, len(events) + 1)):
            problems.append(f"{key}: event seqs {[e['seq'] for e in events]}")
        if not events or events[0]["transition"] != "create" or events[0]["from"] is not None:
            problems.append(f"{key}: does not begin with its create event")
        for before, after in zip(events, events[1:]):
            if after["from"] != before["to"]:
                problems.append(f"{key}: event {after['seq']} leaves {after['from']} but {before['seq']} "
                                f"ended in {before['to']} (a half transition)")
        if events and item["state"] != events[-1]["to"]:
            problems.append(f"{key}: state {item['state']} but the last event ended in {events[-1]['to']}")
        if item["version"] != len(events):
            problems.append(f"{key}: version {item['version']} after {len(events)} events (a lost update)")
        for e in events:  # no event without its documents (bytes, template, context) in the database
            for doc in (e["data"] or {}).get("documents", []):
                for digest in (doc["sha256"], doc["template_sha256"], doc["context_sha256"]):
                    if digest not in facts["blobs"]:
                        problems.append(f"{key}: event {e['seq']}'s {doc['file']} lacks blob {digest[:12]}")
        in_events = {n: v for e in events for n, v in ((e["data"] or {}).get("numbers") or {}).items()}
        if in_events != item["numbers"]:
            problems.append(f"{key}: numbers {item['numbers']} but its events assigned {in_events}")
    by_sequence: dict = {}
    for row in facts["assigned"]:
        by_sequence.setdefault((row["name"], row["scope"], row["year"]), []).append(row)
        item = facts["items"].get(row["item_id"])
        if item is None or item["numbers"].get(row["name"]) != row["text"]:
            problems.append(f"{row['text']} is assigned to item #{row['item_id']}, which does not carry it")
    for sequence, rows in by_sequence.items():
        seqs = [r["seq"] for r in rows]
        if seqs != list(range(1, len(rows) + 1)):
            missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            problems.append(f"{sequence}: numbers are not 1..{len(rows)} (missing {missing[:10]}, "
                            f"{len(seqs) - len(set(seqs))} duplicates)")
        if facts["counters"].get(sequence) != len(rows):
            problems.append(f"{sequence}: counter at {facts['counters'].get(sequence)} for {len(rows)} numbers")
        if len({r["item_id"] for r in rows}) != len(rows):
            problems.append(f"{sequence}: an item holds two numbers")
    for (name, scope, year), value in facts["counters"].items():
        if not name.startswith("key:") and (name, scope, year) not in by_sequence:
            problems.append(f"{(name, scope, year)}: counter at {value} but no number was assigned")
    keys = sorted(item["key"] for item in facts["items"].values())
    if keys != [f"{key_prefix}-{year}-{n:04d}" for n in range(1, len(keys) + 1)]:
        problems.append(f"item keys are not {key_prefix}-{year}-0001..{len(keys):04d}")
    if facts["counters"].get((f"key:{key_prefix}", "", year), 0) != len(keys):
        problems.append(f"key counter at {facts['counters'].get((f'key:{key_prefix}', '', year))} "
                        f"for {len(keys)} items")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["plan", "crash", "finish", "cli"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.add_argument("--home", required=True)
    parser.add_argument("--start", help="wait for this file before working")
    args = parser.parse_args(argv)

    if args.mode == "cli":
        import cli
        import workflow.engine.engine
        import workflow.store.workspace  # noqa: F401

        _wait_for(args.start)
        return cli.cli.main(["--home", args.home, *args.rest], prog_name="gongwen", standalone_mode=False)

    workspace, engine = _open(args.home)
    _wait_for(args.start)
    started = time.time()
    if args.mode == "crash":
        run_crash(engine)
    result = run_plan(engine, int(args.rest[0])) if args.mode == "plan" else run_finish(engine)
    result.update({"pid": os.getpid(), "started": started, "ended": time.time(),
                   "lock_holds": list(workspace.db.lock_holds)})  # seconds each write held the lock
    workspace.close()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if result["error"] else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
