"""A clerk process killed with SIGKILL at random moments during transitions, 50 times.

The worker (tests/clerk_worker.py `crash`) loops for ever: it takes every unfinished plan item one
transition further (the work a killed predecessor left: done again, nothing to repair first), else
creates a new one, publishing too, so 发文字号 are drawn. Each run is killed 0–300 ms (seeded) after
it is ready, i.e. somewhere inside create/fire: while rendering, inside the transaction, during
COMMIT, between COMMIT and writing the files, or while writing them. Afterwards the database is
consistent, the audit chain verifies, every file on disk is whole and belongs to a committed
event, the files a kill kept from being written come back with `gongwen docs KEY --export`, and a
fresh process finishes every interrupted item.

Both databases get the 50 kills (about 40 s each on 2 cores: a kill cycle is dominated by the
worker's start, ~0.6 s)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time

import clerk_worker as worker
from click.testing import CliRunner
from helpers import USERS_EVENTS

from cli import cli
from workflow.audit.verify import verify

KILLS = 50
MAX_DELAY = 0.300
SEED = 20250310


def files_on_disk(root) -> dict:
    folder = root / "documents"
    return {(p.parent.name, p.name): p for p in folder.glob("*/*")}


def test_killed_clerk_leaves_a_consistent_database(workspace, tmp_path):
    rng = random.Random(SEED)
    for _ in range(KILLS):
        process = worker.launch(workspace.root, "crash")
        worker.wait_ready(process)
        time.sleep(rng.uniform(0, MAX_DELAY))
        assert process.poll() is None, f"the worker stopped by itself: {process.stderr.read()}"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
        assert process.returncode == -signal.SIGKILL

    facts = worker.database_facts(workspace.db_url)
    items = facts["items"]
    events = sum(len(i["events"]) for i in items.values())
    published = sum(i["state"] == "publish" for i in items.values())
    assert events >= 20, "the worker did (almost) no work between its start and the kills"
    assert published and facts["assigned"], "no 发文字号 was drawn: publishing was never reached"

    # the database: no half transition, no gap in numbers or keys, counters = what was assigned
    assert worker.consistency_problems(facts) == []
    report = verify(workspace.db)
    assert report.ok, report.problems[:5]
    assert report.events == events + USERS_EVENTS  # and the admin's bootstrap and each user added

    # the files: each one on disk is whole and named by a committed event; the ones a kill
    # between COMMIT and the file write kept from being written are exactly what is missing
    wanted = {(i["key"], d["file"]): d["sha256"] for i in items.values() for e in i["events"]
              for d in e["data"].get("documents", [])}
    disk = files_on_disk(workspace.root)
    leftovers = {k for k in disk if k[1].endswith(".tmp")}  # killed between write and rename
    assert set(disk) - leftovers <= set(wanted), "a file of a transition that did not commit"
    for name in set(disk) - leftovers:
        assert hashlib.sha256(disk[name].read_bytes()).hexdigest() == wanted[name], f"torn file {name}"
    missing = sorted(set(wanted) - set(disk))
    for key, name in leftovers:
        assert (key, name[:-len(".tmp")] + ".docx") in missing, f"{name} beside its written document"
    print(f"{KILLS} kills: {len(items)} items, {events} events, {published} published, "
          f"{len(missing)} files missing after a kill, {len(leftovers)} .tmp left")

    if not missing:  # no kill fell between COMMIT and the file write this time: leave that state by hand
        missing = [max(wanted)]  # the newest item's newest document
        (workspace.root / "documents" / missing[0][0] / missing[0][1]).unlink()
    for key in sorted({key for key, _ in missing}):
        result = CliRunner().invoke(cli, [
            "--home", str(workspace.root), "--as", "zhaomin", "docs", key,
            "--export", str(workspace.root / "documents" / key)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    disk = files_on_disk(workspace.root)
    for name, sha in wanted.items():
        assert name in disk and hashlib.sha256(disk[name].read_bytes()).hexdigest() == sha, name

    # the interrupted work is simply done again: a fresh process finishes every item
    finisher = worker.launch(workspace.root, "finish")
    (done,) = worker.results([finisher], timeout=300)
    assert done["code"] == 0 and done["result"]["error"] is None, done["result"] or done["stderr"]
    facts = worker.database_facts(workspace.db_url)
    assert worker.consistency_problems(facts) == []
    assert all(i["state"] == "publish" for i in facts["items"].values())
    assert [a["seq"] for a in facts["assigned"]] == list(range(1, len(facts["items"]) + 1))
    wanted = {(i["key"], d["file"]): d["sha256"] for i in facts["items"].values() for e in i["events"]
              for d in e["data"].get("documents", [])}
    assert set(wanted) <= set(files_on_disk(workspace.root))
    report = verify(workspace.db)
    assert report.ok, report.problems[:5]
