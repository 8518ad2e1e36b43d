"""Verify and replay rates on a large history, next to a plain loop that only reads the rows.

A fresh workspace (workflow.workspace.init in a temporary folder) is filled through the real
tables with SQLAlchemy Core executemany, a transaction per 20,000 events: items of the plan
workflow, each with ten events that follow valid transitions (create, submit, withdraw, edit,
submit, return, submit, dept_approve, forward, approve: the item ends in `signed`; the 签发 records
the hash of the signed text, as the engine's does), a correct hash
chain (workflow.chain.body_from_row and chain.link over the JSON columns' canonical text, written
by CanonicalJSON itself), and documents in the events' data naming a pool of stored blobs, as
real events do.

Then a checkpoint (workflow.audit.make_checkpoint) over the whole log, and on the same database,
each timed --repeat times, the runs interleaved (the best run counts; the median is printed too):
  (a) a plain loop over workflow.eventlog.event_rows that only touches each row (the lower bound);
  (b) workflow.audit.verify(db), which must report ok (it splits the log over one process per
      core from 50,000 events on; the plain loop is one process);
  (c) the same with the checkpoint given, which must report the log consistent with it (by its
      head: the chain commits to every event before it);
  (d) the same with root=True, which also computes today's Merkle root (`audit verify --root`);
      printed beside, without a target;
  (e) workflow.replay.replay(workspace), which must report ok.
Every event is signed by its actor's key (made for this run, like the tests' users). verify is
timed with signatures (the default) and without (--no-signatures, the structural check), and with
signatures given the line an earlier `audit verify --root` printed over the first 99% of the log
(its signed= vouches for the signatures it checked, so only the newest 1% are checked again: the
daily audit). Side by side, the floor of checking signatures at all: libsodium verifying the
log's own signatures in a bare loop, in as many processes as verify uses.

Targets: the structural verify (with and without the checkpoint) >= 200,000 events/s; the daily
audit (signatures, given yesterday's line) >= half the structural rate of the same run; verify
with every signature checked >= 0.75 x the signature floor (Ed25519 verification is about 60 µs
of arithmetic a signature on these cores: at 2 cores no verify that checks every signature can
pass ~30,000 events/s, whatever else it does); replay >= 50,000 events/s. Exits 1 when one is
missed. --keep DIR keeps the filled workspace; --use DIR measures it again."""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # helpers.add_users: users with keys, as the tests make them

from helpers import add_users  # noqa: E402

from workflow.audit import eventlog, merkle  # noqa: E402
from workflow.audit import verify as audit  # noqa: E402
from workflow.audit.merkle import Checkpoint, merkle_root  # noqa: E402
from workflow.audit.replay import replay  # noqa: E402
from workflow.canonical import canonical_hash  # noqa: E402
from workflow.demo.run import USERS  # noqa: E402
from workflow.engine import registry  # noqa: E402
from workflow.identity.keyring import KeyRing  # noqa: E402
from workflow.identity.keys import event_message, parse_public_line, verify_signature  # noqa: E402
from workflow.store import chain  # noqa: E402
from workflow.store.orm import Blob, CanonicalJSON, Event, Item  # noqa: E402
from workflow.store.workspace import Workspace, init  # noqa: E402

TARGETS = {"verify": 200_000, "replay": 50_000}
SIGNED_SHARE = 0.5  # the daily audit: at least half the rate of the structural check (issue 11)
FLOOR_SHARE = 0.75  # every signature checked: at least this share of the bare signature loop's rate
DAILY = 0.99  # yesterday's checkpoint covers this share of the log
BATCH = 20_000
BLOB_POOL = 500
# (transition, from, to, actor, roles, comment, template or None)
OWNER = ["clerk", "owner"]
CYCLE = [
    ("create", None, "draft", "xuming", OWNER, "", None),
    ("submit", "draft", "dept_review", "xuming", OWNER, "", "发文稿纸"),
    ("withdraw", "dept_review", "draft", "xuming", OWNER, "标题有误，撤回修改。", "撤回说明"),
    ("edit", "draft", "draft", "xuming", OWNER, "", "修改记录"),
    ("submit", "draft", "dept_review", "xuming", OWNER, "已修改标题。", "发文稿纸"),
    ("return", "dept_review", "returned", "zhoujie", ["dept_head"], "第一项任务请补充量化目标。", "退回意见"),
    ("submit", "returned", "dept_review", "xuming", OWNER, "已补充量化目标。", "发文稿纸"),
    ("dept_approve", "dept_review", "review", "zhoujie", ["dept_head"], "同意，送办公室核稿。", None),
    ("forward", "review", "approve", "lina", ["reviewer"], "文稿规范，同意呈送签发。", "发文稿纸"),
    ("approve", "approve", "signed", "wangqiang", ["supervisor"], "同意印发。", "发文稿纸"),
]


def canonical_text(value) -> str:
    return CanonicalJSON().process_bind_param(value, None)


def fill(ws, events: int) -> tuple[int, int]:
    """Items and events through the real tables; returns (items, events) written."""
    definition = registry.current(ws, "plan")
    signing = definition.signing
    assert signing is not None and "year" not in signing.body  # the body the created items' fields give
    when = "2025-01-02T08:00:00+08:00"
    add_users(ws, USERS)  # the admin and the users, each with a key in this run's key folder
    with ws.db.write() as session:
        registry.store(session, definition, when)
        event_id, prev = session.connection().exec_driver_sql(
            "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").one()  # after the @users events
    keys = KeyRing()
    signers = {login: keys.signer(login) for login, *_ in USERS}
    pool = []
    for i in range(BLOB_POOL):
        data = f"blob {i}".encode()
        pool.append((hashlib.sha256(data).hexdigest(), data))
    n_items = -(-events // len(CYCLE))
    item_table, event_table = Item.__table__, Event.__table__
    written = 0
    with ws.db.engine.begin() as connection:
        connection.execute(Blob.__table__.insert(), [{"sha256": h, "kind": "document", "size": len(d), "data": d}
                                                     for h, d in pool])
    for start in range(1, n_items + 1, BATCH // len(CYCLE)):  # one transaction per batch, as a log grows
        with ws.db.engine.begin() as connection:
            items, rows = [], []
            for item_id in range(start, min(start + BATCH // len(CYCLE), n_items + 1)):
                key = f"JH-2025-{item_id:07d}"
                title = f"某某县教育局工作要点（第{item_id}号）"
                body_sha = canonical_hash({name: title if name == "title" else None for name in signing.body})
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
                    changes = ({"title": [None, f"某某县教育局工作要点（第{item_id}号）"], "year": [None, 2025]}
                               if seq == 1 else {})
                    data = {}
                    if template:
                        doc, tpl, ctx = (pool[(event_id + k) % BLOB_POOL][0] for k in (0, 1, 2))
                        data = {"documents": [{"context_sha256": ctx, "file": f"{key}_{seq:02d}_{template}.docx",
                                               "name": template, "sha256": doc, "size": 23276,
                                               "template": f"{template}.docx", "template_sha256": tpl}],
                                "numbers": {}}
                    if transition == signing.transition:  # 签发: the body hash the engine records
                        data["body_sha256"] = body_sha
                    moment = f"2025-{1 + event_id % 12:02d}-{1 + event_id % 28:02d}T09:{event_id % 60:02d}:00+08:00"
                    body = chain.body_from_row(key, seq, transition, source, target, actor, canonical_text(roles),
                                               comment, canonical_text(changes), canonical_text(data), moment,
                                               definition.hash)
                    digest = chain.link(prev, body)
                    rows.append({"id": event_id, "item_id": item_id, "item_key": key, "seq": seq,
                                 "transition": transition, "from_state": source, "to_state": target,
                                 "actor": actor, "actor_roles": roles, "comment": comment, "changes": changes,
                                 "data": data, "time": moment, "definition_hash": definition.hash,
                                 "prev_hash": prev, "hash": digest,
                                 "signature": signers[actor].sign_event(digest), "signer": signers[actor].fingerprint})
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


def plain_loop(ws) -> int:
    touched = 0
    with ws.db.engine.connect() as connection:
        for row in eventlog.event_rows(connection):
            touched += row[0] > 0
    return touched


def prefix_checkpoint(ws, size: int) -> Checkpoint:
    """The line `audit verify --root` would have printed over the first `size` events, signed= and
    all (every signature of this log verifies, as the full verify run shows)."""
    with ws.db.read() as session:
        connection = session.connection()
        rows = connection.exec_driver_sql(f"SELECT id, hash FROM events ORDER BY id LIMIT {int(size)}").all()
        signed = audit.signatures_digest(connection, rows[-1][0])
    root = merkle_root([merkle.stored_leaf(h, bytes.fromhex(h)) for _, h in rows])
    return Checkpoint(size, root, rows[-1][1], signed)


def _verify_sample(sample: list[tuple[bytes, bytes, str]]) -> int:
    return sum(verify_signature(raw, event_message(digest), signature) for raw, digest, signature in sample)


def signature_floor(ws, processes: int, count: int = 20_000) -> float:
    """Signatures a second that libsodium checks in a bare loop, `processes` at once: each process
    verifies the same `count` signatures of this log (read beforehand)."""
    with ws.db.read() as session:
        connection = session.connection()
        keys = {fp: parse_public_line(line).raw for fp, line in
                connection.exec_driver_sql("SELECT fingerprint, public_key FROM user_keys")}
        rows = connection.exec_driver_sql(
            f"SELECT hash, signature, signer FROM events WHERE signer IS NOT NULL ORDER BY id LIMIT {count}")
        sample = [(keys[signer], digest.encode(), signature) for digest, signature, signer in rows]
    start = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        assert all(n == len(sample) for n in pool.map(_verify_sample, [sample] * processes))
    return processes * len(sample) / (time.perf_counter() - start)


def measure(ws, n_events: int, repeat: int, checkpoint: Checkpoint) -> dict[str, list[float]]:
    """Seconds of each run of each measurement, the runs interleaved."""
    yesterday = prefix_checkpoint(ws, int(n_events * DAILY))

    def verify_ok(given=None, root=False, signatures=True):
        report = audit.verify(ws.db, given, root=root, signatures=signatures)
        assert report.ok and report.events == n_events, report.problems[:3]
        vouched = given.size if given is not None and given.signed and signatures else 0
        assert report.signatures == (n_events - vouched if signatures else 0), (report.signatures, report.notes)
        assert given is None or report.notes[-1].startswith("consistent with the checkpoint"), report.notes

    def replay_ok():
        report = replay(ws)
        assert report.ok and report.events == n_events, report.anomalies[:3]

    jobs = {"plain": lambda: plain_loop(ws) == n_events or sys.exit("the plain loop missed rows"),
            "verify": verify_ok, "verify_structure": lambda: verify_ok(signatures=False),
            "verify_checkpoint": lambda: verify_ok(checkpoint, signatures=False),
            "verify_daily": lambda: verify_ok(yesterday),
            "verify_root": lambda: verify_ok(root=True), "replay": replay_ok}
    seconds: dict[str, list[float]] = {name: [] for name in [*jobs, "floor"]}
    processes = audit._workers(None, n_events)
    for _ in range(repeat):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            seconds[name].append(time.perf_counter() - start)
        seconds["floor"].append(n_events / signature_floor(ws, processes))  # seconds to check every signature
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to write (default 1,000,000)")
    parser.add_argument("--keep", metavar="DIR", help="build the workspace in DIR and keep it")
    parser.add_argument("--use", metavar="DIR", help="measure a workspace an earlier --keep built (no filling)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3); the best "
                        "counts against the targets, the median is printed beside it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GONGWEN_CONFIG_HOME", str(Path(tmp) / "account"))  # the users' keys
        if args.use:
            ws = Workspace(Path(args.use))
            with ws.db.read() as session:
                n_events = session.connection().exec_driver_sql("SELECT count(*) FROM events").scalar()
            print(f"measuring {n_events:,} events in {ws.db.url}")
        else:
            ws = init(Path(args.keep) if args.keep else Path(tmp) / "ws")
            start = time.perf_counter()
            n_items, n_events = fill(ws, args.events)
            with ws.db.read() as session:  # and the @users events before them
                n_events = session.connection().exec_driver_sql("SELECT count(*) FROM events").scalar()
            print(f"filled {n_events:,} events of {n_items:,} items in {time.perf_counter() - start:.1f} s "
                  f"({ws.db.url})")
        start = time.perf_counter()
        made = audit.make_checkpoint(ws.db, "admin", "2025-12-31T18:00:00+08:00")
        print(f"checkpoint over {made['size']:,} events in {time.perf_counter() - start:.2f} s")
        seconds = measure(ws, n_events, args.repeat, Checkpoint(made["size"], made["root"], made["head"]))
        ws.close()

    processes = audit._workers(None, n_events)
    across = f"{processes} process{'es' if processes > 1 else ''}"
    structural = rate(n_events, min(seconds["verify_structure"]))
    floor = rate(n_events, min(seconds["floor"]))
    rows = [("plain loop (lower bound)", "plain", None),
            (f"signature floor ({across})", "floor", None),
            ("verify, every signature", "verify", int(floor * FLOOR_SHARE)),
            (f"verify, daily ({DAILY:.0%} vouched)", "verify_daily", int(structural * SIGNED_SHARE)),
            ("verify --no-signatures", "verify_structure", TARGETS["verify"]),
            ("  and --checkpoint", "verify_checkpoint", TARGETS["verify"]),
            ("verify --root (no target)", "verify_root", None), ("replay", "replay", TARGETS["replay"])]
    base = rate(n_events, min(seconds["plain"]))
    print(f"{'':<30}{'best s':>8}{'events/s':>11}{'median':>11}{'x plain':>9}{'target':>10}")
    missed = []
    for label, name, target in rows:
        best, median = rate(n_events, min(seconds[name])), rate(n_events, statistics.median(seconds[name]))
        verdict = "" if target is None else ("ok" if best >= target else "MISSED")
        print(f"{label:<30}{min(seconds[name]):8.2f}{best:11,.0f}{median:11,.0f}{best / base:9.2f}"
              f"{(f'{target:,}' if target else ''):>10} {verdict}")
        if verdict == "MISSED":
            missed.append(f"{label}: {best:,.0f} events/s is below the target of {target:,}")
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
