"""Concurrent clerks on one database, each a real process of its own (tests/clerk_worker.py).

8 processes on PostgreSQL (4 on the SQLite file) each take 100 plan items through the whole
workflow at the same time: create (zhangwei) → submit → forward (lina) → approve (wangqiang) →
publish (chenjing, drawing 某教发〔2025〕N号). Every item is a process's own, so they collide only on
what all writers share: the counters (item keys, 发文字号), the hash chain of events, the blobs of
identical templates, and the write lock (PostgreSQL's advisory lock, SQLite's write lock), which
each transition takes only to write: one that finds another writer was first runs again inside
the engine (Engine.fire), never by the clerk; no error of any kind is retried by the worker: the
first one stops its process and fails the test. (benchmarks/concurrency.py measures the rates.)

Then two processes fire on one item at once with the same --expect-version (real `gongwen do`
command lines, released together): exactly one succeeds, the other exits 3 naming the winner."""

from __future__ import annotations

import time

import clerk_worker as worker
import pytest
from helpers import NOW, USERS_EVENTS, plan_values

from workflow.audit.verify import verify

PROCESSES = {"sqlite": 4, "postgresql": 8}
ITEMS_EACH = 100
PLAN_EVENTS = [("create", None, "draft", "zhangwei"), ("submit", "draft", "review", "zhangwei"),
               ("forward", "review", "approve", "lina"), ("approve", "approve", "signed", "wangqiang"),
               ("publish", "signed", "publish", "chenjing")]


def database_name(workspace) -> str:
    return "sqlite" if workspace.db.is_sqlite else "postgresql"


def test_clerk_processes_advance_their_items_at_the_same_time(workspace, tmp_path):
    processes = PROCESSES[database_name(workspace)]
    start = tmp_path / "start"
    clerks = [worker.launch(workspace.root, "plan", ITEMS_EACH, start=start) for _ in range(processes)]
    released = worker.release(clerks, start)
    done = worker.results(clerks)
    elapsed = time.time() - released
    transitions = sum(d["result"]["transitions"] for d in done if d["result"])
    print(f"{processes} processes on {database_name(workspace)}: {transitions} transitions in "
          f"{elapsed:.1f} s ({transitions / elapsed:.0f}/s)")

    for d in done:  # no error at all: not a conflict, not a busy database, not a deadlock
        assert d["code"] == 0 and d["result"] and d["result"]["error"] is None, (d["result"] or {}).get("error") \
            or d["stderr"]
        assert len(d["result"]["keys"]) == ITEMS_EACH
    # the processes really overlapped: each started before any other finished
    assert max(d["result"]["started"] for d in done) < min(d["result"]["ended"] for d in done)

    facts = worker.database_facts(workspace.db_url)
    total = processes * ITEMS_EACH
    items = facts["items"].values()
    assert len(items) == total
    assert sorted(k for d in done for k in d["result"]["keys"]) == sorted(i["key"] for i in items)
    assert worker.consistency_problems(facts) == []
    for item in items:  # complete histories, no lost update
        assert item["state"] == "publish", item["key"]
        assert [(e["transition"], e["from"], e["to"], e["actor"]) for e in item["events"]] == PLAN_EVENTS, item["key"]
        assert [e["seq"] for e in item["events"]] == [1, 2, 3, 4, 5]
        assert item["version"] == 5
    # the 发文字号 of the issuer for 2025: 1..total, no gap, no duplicate, one per item
    numbers = [(a["name"], a["scope"], a["year"], a["seq"]) for a in facts["assigned"]]
    assert numbers == [("doc_number", "某教发", 2025, n) for n in range(1, total + 1)]
    assert sorted(i["numbers"]["doc_number"] for i in items) == sorted(
        f"某教发〔2025〕{n}号" for n in range(1, total + 1))
    assert facts["counters"][("doc_number", "某教发", 2025)] == total
    # every document written to its file after commit
    for item in items:
        for event in item["events"]:
            for doc in event["data"].get("documents", []):
                assert (workspace.root / "documents" / item["key"] / doc["file"]).is_file()
    report = verify(workspace.db)
    assert report.ok, report.problems[:5]
    assert report.events == total * 5 + USERS_EVENTS and report.items == total  # and the @users events


RACES = [  # (state to reach, first contender, second contender): two different people
    ("review", ("lina", "forward"), ("zhangwei", "withdraw")),
    ("approve", ("wangqiang", "approve", "-m", "同意。"), ("lina", "return", "-m", "请修改。")),
    ("signed", ("chenjing", "publish"), ("boss", "recheck", "-m", "文号有误，请复核。")),
]


def item_in(engine, state: str) -> str:
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    for transition, login in worker.PLAN:
        if engine.show("zhaomin", key).state == state:
            break
        engine.fire(login, key, transition)
    assert engine.show("zhaomin", key).state == state
    return key


@pytest.mark.parametrize("race", RACES, ids=[r[0] for r in RACES])
def test_two_processes_fire_on_the_same_item_at_once(workspace, engine, tmp_path, race):
    state, *contenders = race
    key = item_in(engine, state)
    version = engine.show("zhaomin", key).version
    events_before = len(engine.history("zhaomin", key).history)
    start = tmp_path / "start"
    processes = [worker.launch(workspace.root, "cli", "--as", login, "do", key, transition, *rest,
                               "--expect-version", version, start=start)
                 for login, transition, *rest in contenders]
    worker.release(processes, start)
    done = worker.results(processes, timeout=120)

    codes = [d["code"] for d in done]
    assert sorted(codes) == [0, 3], [d["stderr"] for d in done]
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    winner_login, winner_transition = contenders[winner][:2]
    message = done[loser]["stderr"]
    assert message.startswith("error: ") and f"{key} was changed by {winner_login} at {NOW}+08:00" in message
    assert f"(version {version} → {version + 1})" in message

    # exactly one transition happened: the winner's; the loser left nothing behind
    history = engine.history("zhaomin", key).history
    assert len(history) == events_before + 1
    assert (history[-1].transition, history[-1].actor) == (winner_transition, winner_login)
    assert engine.show("zhaomin", key).version == version + 1
    facts = worker.database_facts(workspace.db_url)
    assert worker.consistency_problems(facts) == []
    assert len(facts["assigned"]) == (1 if winner_transition == "publish" else 0)
    assert verify(workspace.db).ok
