"""Verify and replay rates on a large history, next to a plain loop that only reads the rows.

A fresh workspace (workflow.workspace.init in a temporary folder) is filled through the real
tables with SQLAlchemy Core executemany, a transaction per 20,000 events: items of the plan
workflow, each with ten events that follow valid transitions (create, submit, withdraw, edit,
submit, forward, return, submit, forward, approve: the item ends in `signed`), a correct hash
chain (workflow.chain.body_from_row and chain.link over the JSON columns' canonical text, written
by CanonicalJSON itself), and documents in the events' data naming a pool of stored blobs, as
real events do.

Then, on the same database, each timed --repeat times (default 3; the best run counts):
  (a) a plain loop over workflow.audit.event_rows that only touches each row (the lower bound);
  (b) workflow.audit.verify(db), which must report ok (it splits the log over one process per
      core from 50,000 events on; the plain loop is one process);
  (c) workflow.replay.replay(workspace), which must report ok.
Targets: verify >= 200,000 events/s, replay >= 50,000 events/s; exits 1 when one is missed."""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workflow import admin, audit, chain, registry, users  # noqa: E402
from workflow.demo import USERS  # noqa: E402
from workflow.models import Blob, CanonicalJSON, Event, Item  # noqa: E402
from workflow.replay import replay  # noqa: E402
from workflow.workspace import init  # noqa: E402

TARGETS = {"verify": 200_000, "replay": 50_000}
BATCH = 20_000
BLOB_POOL = 500
# (transition, from, to, actor, roles, comment, template or None)
OWNER = ["clerk", "owner"]
CYCLE = [
    ("create", None, "draft", "zhangwei", OWNER, "", None),
    ("submit", "draft", "review", "zhangwei", OWNER, "", "发文稿纸"),
    ("withdraw", "review", "draft", "zhangwei", OWNER, "标题有误，撤回修改。", "撤回说明"),
    ("edit", "draft", "draft", "zhangwei", OWNER, "", "修改记录"),
    ("submit", "draft", "review", "zhangwei", OWNER, "已修改标题。", "发文稿纸"),
    ("forward", "review", "approve", "lina", ["reviewer"], "文稿规范，同意呈送签发。", "发文稿纸"),
    ("return", "approve", "returned", "wangqiang", ["supervisor"], "第一项任务请补充量化目标。", "退回意见"),
    ("submit", "returned", "review", "zhangwei", OWNER, "已补充量化目标。", "发文稿纸"),
    ("forward", "review", "approve", "lina", ["reviewer"], "已按领导意见修改，同意呈送签发。", "发文稿纸"),
    ("approve", "approve", "signed", "wangqiang", ["supervisor"], "同意印发。", "发文稿纸"),
]


def canonical_text(value) -> str:
    return CanonicalJSON().process_bind_param(value, None)


def fill(ws, events: int) -> tuple[int, int]:
    """Items and events through the real tables; returns (items, events) written."""
    definition = registry.current(ws, "plan")
    when = "2025-01-02T08:00:00+08:00"
    admin.bootstrap_admin(ws, "admin")
    with ws.db.write() as session:
        for login, name, post, roles in USERS:
            users.add(session, login, name, post, roles, admin.known_roles(ws), when)
        registry.store(session, definition, when)
    pool = []
    for i in range(BLOB_POOL):
        data = f"blob {i}".encode()
        pool.append((hashlib.sha256(data).hexdigest(), data))
    n_items = -(-events // len(CYCLE))
    item_table, event_table = Item.__table__, Event.__table__
    prev, written, event_id = chain.GENESIS, 0, 0
    with ws.db.engine.begin() as connection:
        connection.execute(Blob.__table__.insert(), [{"sha256": h, "kind": "document", "size": len(d), "data": d}
                                                     for h, d in pool])
    for start in range(1, n_items + 1, BATCH // len(CYCLE)):  # one transaction per batch, as a log grows
        with ws.db.engine.begin() as connection:
            items, rows = [], []
            for item_id in range(start, min(start + BATCH // len(CYCLE), n_items + 1)):
                key = f"JH-2025-{item_id:07d}"
                count = min(len(CYCLE), events - written)
                if count <= 0:
                    break
                last_state = CYCLE[count - 1][2]
                items.append({"id": item_id, "key": key, "workflow_id": "plan", "definition_hash": definition.hash,
                              "state": last_state, "title": f"某某县教育局工作要点（第{item_id}号）",
                              "fields": {"title": f"某某县教育局工作要点（第{item_id}号）", "year": 2025},
                              "numbers": {}, "creator": "zhangwei", "created_at": when, "updated_at": when,
                              "updated_by": CYCLE[count - 1][3], "version": count})
                for seq, (transition, source, target, actor, roles, comment, template) in enumerate(CYCLE[:count], 1):
                    event_id += 1
                    changes = {"title": [None, f"某某县教育局工作要点（第{item_id}号）"]} if seq == 1 else {}
                    data = {}
                    if template:
                        doc, tpl, ctx = (pool[(event_id + k) % BLOB_POOL][0] for k in (0, 1, 2))
                        data = {"documents": [{"context_sha256": ctx, "file": f"{key}_{seq:02d}_{template}.docx",
                                               "name": template, "sha256": doc, "size": 23276,
                                               "template": f"{template}.docx", "template_sha256": tpl}],
                                "numbers": {}}
                    moment = f"2025-{1 + event_id % 12:02d}-{1 + event_id % 28:02d}T09:{event_id % 60:02d}:00+08:00"
                    body = chain.body_from_row(key, seq, transition, source, target, actor, canonical_text(roles),
                                               comment, canonical_text(changes), canonical_text(data), moment,
                                               definition.hash)
                    digest = chain.link(prev, body)
                    rows.append({"id": event_id, "item_id": item_id, "item_key": key, "seq": seq,
                                 "transition": transition, "from_state": source, "to_state": target,
                                 "actor": actor, "actor_roles": roles, "comment": comment, "changes": changes,
                                 "data": data, "time": moment, "definition_hash": definition.hash,
                                 "prev_hash": prev, "hash": digest})
                    prev = digest
                written += count
            if items:
                connection.execute(item_table.insert(), items)
                connection.execute(event_table.insert(), rows)
            if written >= events:
                break
    if ws.db.is_sqlite:  # the log as it stands between working days: the WAL written back
        raw = ws.db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return n_items, written


def rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to write (default 1,000,000)")
    parser.add_argument("--keep", metavar="DIR", help="build the workspace in DIR and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "ws"
        ws = init(folder)
        start = time.perf_counter()
        n_items, n_events = fill(ws, args.events)
        print(f"filled {n_events:,} events of {n_items:,} items in {time.perf_counter() - start:.1f} s "
              f"({ws.db.url})")

        plain = verify_s = replay_s = float("inf")
        for _ in range(args.repeat):  # the best of each: other work on the machine only ever slows a run
            start = time.perf_counter()
            touched = 0
            with ws.db.engine.connect() as connection:
                for row in audit.event_rows(connection):
                    touched += row[0] > 0
            plain = min(plain, time.perf_counter() - start)
            assert touched == n_events, (touched, n_events)

            start = time.perf_counter()
            verified = audit.verify(ws.db)
            verify_s = min(verify_s, time.perf_counter() - start)
            if not verified.ok or verified.events != n_events:
                print(f"verify did not report ok: {verified.problems[:3]}")
                return 1

            start = time.perf_counter()
            replayed = replay(ws)
            replay_s = min(replay_s, time.perf_counter() - start)
            if not replayed.ok or replayed.events != n_events:
                print(f"replay did not report ok: {replayed.anomalies[:3]}")
                return 1
        ws.close()

    base = rate(n_events, plain)
    print(f"{'':<24}{'seconds':>9}{'events/s':>12}{'x plain loop':>14}{'target':>10}")
    missed = []
    processes = audit._workers(None, n_events)
    for label, seconds, target in [("plain loop (lower bound)", plain, None),
                                   (f"verify ({processes} process{'es' if processes > 1 else ''})", verify_s,
                                    TARGETS["verify"]),
                                   ("replay", replay_s, TARGETS["replay"])]:
        per_second = rate(n_events, seconds)
        verdict = "" if target is None else ("ok" if per_second >= target else "MISSED")
        print(f"{label:<24}{seconds:9.2f}{per_second:12,.0f}{per_second / base:14.2f}"
              f"{(f'{target:,}' if target else ''):>10} {verdict}")
        if verdict == "MISSED":
            missed.append(f"{label}: {per_second:,.0f} events/s is below the target of {target:,}")
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
