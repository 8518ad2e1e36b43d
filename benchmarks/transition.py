"""One transition in-process (`Engine.fire`) against a floor written by hand with SQLAlchemy Core
doing the same reads and writes, side by side in one run, on a SQLite file (and, with
--databases, on PostgreSQL from pgserver).

For each of --items plan items of the shipped workflow the engine fires `submit` (renders the
发文稿纸) and `dept_approve` (no document). The floor does, per transition, in one write
transaction: read the item row and its events, update the item row, insert an event row of the
same size (its hash and signature precomputed), and for `submit` insert the same document, context
and template bytes (INSERT … ON CONFLICT DO NOTHING). What the engine does besides (guards,
rendering, hashing, signing, the session) is the ratio. Also printed: the median time the write
lock was held (Database.lock_holds) and SQL statements per transition.

    python benchmarks/transition.py [--items 200] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TRANSITIONS = (("xuming", "submit"), ("zhoujie", "dept_approve"))


def engine_run(folder: Path, db_url: str | None, items: int) -> dict:
    from helpers import ALL_USERS, add_users, plan_values
    from sqlalchemy import event

    from workflow.engine.engine import Engine
    from workflow.store.workspace import init

    ws = init(folder / "ws", db_url=db_url)
    add_users(ws, ALL_USERS)
    engine = Engine(ws)
    keys = [engine.create("xuming", "plan", values=plan_values(cosign_offices=None)).key for _ in range(items)]
    statements = [0]
    event.listen(ws.db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    times: dict[str, list[float]] = {name: [] for _, name in TRANSITIONS}
    counts: dict[str, list[int]] = {name: [] for _, name in TRANSITIONS}
    ws.db.lock_holds.clear()
    for key in keys:
        for login, name in TRANSITIONS:
            statements[0] = 0
            start = time.perf_counter()
            engine.fire(login, key, name)
            times[name].append(time.perf_counter() - start)
            counts[name].append(statements[0])
    holds = list(ws.db.lock_holds)
    sample = {}
    with ws.db.read() as session:  # the bytes the floor writes: one submit's documents and event
        from sqlalchemy import select

        from workflow.store.orm import Blob, Event

        submit = session.scalars(select(Event).where(Event.item_key == keys[0], Event.transition == "submit")).one()
        digests = [d["sha256"] for d in submit.data["documents"]] + [d["context_sha256"] for d in
                                                                      submit.data["documents"]]
        digests += [d["template_sha256"] for d in submit.data["documents"]]
        sample["blobs"] = [(b.sha256, b.kind, b.data) for b in session.scalars(select(Blob).where(
            Blob.sha256.in_(digests)))]
        sample["event"] = {c: getattr(submit, c) for c in ("transition", "from_state", "to_state", "actor",
                                                           "actor_roles", "comment", "changes", "data", "time",
                                                           "definition_hash", "prev_hash", "hash", "signature",
                                                           "signer")}
    ws.close()
    return {"times": times, "statements": counts, "holds": holds, "sample": sample}


def floor_run(folder: Path, db_url: str | None, items: int, sample: dict) -> dict:
    """The same rows read and written with Core, nothing else."""
    from helpers import ALL_USERS, add_users, plan_values
    from sqlalchemy import func, insert, select, update

    from workflow.engine.engine import Engine
    from workflow.store.orm import Blob, Event, Item
    from workflow.store.workspace import init

    ws = init(folder / "floor", db_url=db_url)
    add_users(ws, ALL_USERS)
    engine = Engine(ws)
    keys = [engine.create("xuming", "plan", values=plan_values(cosign_offices=None)).key for _ in range(items)]
    dialect = ws.db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    times: dict[str, list[float]] = {name: [] for _, name in TRANSITIONS}
    n = 0
    for key in keys:
        for _, name in TRANSITIONS:
            n += 1
            start = time.perf_counter()
            with ws.db.write() as session:
                connection = session.connection()
                item = connection.execute(select(Item.__table__).where(Item.key == key)).one()
                connection.execute(select(Event.__table__).where(Event.item_id == item.id)).all()
                head = connection.execute(select(Event.hash).order_by(Event.id.desc()).limit(1)).scalar()
                connection.execute(update(Item.__table__).where(Item.id == item.id, Item.version == item.version)
                                   .values(state="review", version=item.version + 1, updated_at=func.now()))
                seq = connection.execute(select(func.count()).select_from(Event.__table__)
                                         .where(Event.item_id == item.id)).scalar() + 1
                connection.execute(insert(Event.__table__).values(
                    item_id=item.id, item_key=key, seq=seq, **{**sample["event"], "prev_hash": head or "0" * 64,
                                                                 "hash": f"{n:064x}"}))
                if name == "submit":
                    connection.execute(upsert(Blob.__table__).on_conflict_do_nothing(index_elements=["sha256"]),
                                       [{"sha256": s, "kind": k, "size": len(d), "data": d}
                                        for s, k, d in sample["blobs"]])
            times[name].append(time.perf_counter() - start)
    ws.close()
    return {"times": times}


def median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--databases", default="sqlite")
    args = parser.parse_args()
    os.environ.setdefault("GONGWEN_NOW", "2025-03-10T09:00:00")
    with tempfile.TemporaryDirectory(prefix="gongwen-bench-") as temp:
        os.environ["GONGWEN_CONFIG_HOME"] = str(Path(temp) / "account")
        server = None
        rows = []
        try:
            for database in args.databases.split(","):
                url = None
                if database == "postgresql":
                    import pgserver

                    os.environ.setdefault("XDG_RUNTIME_DIR", temp)
                    server = server or pgserver.get_server(str(Path(temp) / "pg"), cleanup_mode="stop")
                    url = server.get_uri("postgres")
                    name = "bench_" + uuid.uuid4().hex[:8]
                    server.psql(f"CREATE DATABASE {name};")
                    floor_name = name + "_floor"
                    server.psql(f"CREATE DATABASE {floor_name};")
                    url, floor_url = server.get_uri(name), server.get_uri(floor_name)
                else:
                    floor_url = None
                folder = Path(temp) / database
                folder.mkdir()
                measured = engine_run(folder, url, args.items)
                floor = floor_run(folder, floor_url, args.items, measured["sample"])
                for _, name in TRANSITIONS:
                    do, base = median_ms(measured["times"][name]), median_ms(floor["times"][name])
                    rows.append((database, name, do, base, do / base, statistics.median(measured["statements"][name])))
                rows.append((database, "lock held (median of all)", median_ms(measured["holds"]), None, None, None))
        finally:
            if server is not None:
                server.cleanup()
    print(f"\n{args.items} plan items; {os.cpu_count()} CPUs; targets: do ≤ 2 ms and ≤ 4× the floor on SQLite, "
          "lock held ≤ 1 ms")
    print("| database | transition | do, median ms | Core floor, median ms | ratio | SQL statements |")
    print("|---|---|---|---|---|---|")
    for database, name, do, base, ratio, count in rows:
        if base is None:
            print(f"| {database} | {name} | {do:.2f} | | | |")
        else:
            print(f"| {database} | {name} | {do:.2f} | {base:.2f} | {ratio:.1f}× | {count:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
