"""In-process median times of the read paths at 1,000, 10,000 and 100,000 items: `worklist` (as
the command shows it: the first 50 items of each list with its total; and whole, for the curve),
a page of `list` (50), `show` and one `do`, with the targets at 100,000 (worklist ≤ 0.5 s, a page
of list ≤ 0.3 s) and the ratio from one size to the next (flat or linear, never worse).

The items are inserted with SQLAlchemy Core straight into `items` and `events` (a create, an edit
and the event that brought the item into its state; reads do not verify signatures), on the
shipped workflows (plan, inspection, clean_school), with realistic fields and states: most items
done, the rest spread over the working states, some urgent, some in 会签 with offices to sign,
some inspections late with a 催办 or 督办 recorded. `show` and `do` (an `edit` of a plan item by
its drafter, signed and rendered) run on an item made through the engine.

    python benchmarks/scale.py                  # 1k, 10k, 100k (a few minutes on 2 cores)
    python benchmarks/scale.py --sizes 1000,10000
    python benchmarks/scale.py --engine-up-to 10000   # also time Engine.worklist/list_items as wired"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"worklist": 0.5, "list page": 0.3}  # seconds, at 100,000 items
WATCHED = ("chenjing", "liuyang", "lina")  # 办公室文书 (many lists), 督学 (督办, `when` lists), 核稿人
NOW = "2025-06-16T09:00:00"
PAGE = 50  # items per list and per page, as `gongwen worklist` and `gongwen list` show them
SCHOOLS = ["某某县第一实验小学", "某某县城关中学", "某某县第二小学", "某某县实验中学", "某某县职业中学"]
OFFICES = ["计划财务股", "人事股", "基础教育股", "督导室"]
SHARE = {"plan": 0.4, "inspection": 0.3, "clean_school": 0.3}
DONE = {"plan": "archived", "inspection": "closed", "clean_school": "publish"}


def median(call: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- the workspace -----------------------------------------------------------------------------------
def workspace_with_users(root: Path) -> Any:
    from workflow.demo.run import UNITS, USERS
    from workflow.engine import admin, timers
    from workflow.identity.keyring import KeyRing
    from workflow.store.workspace import init

    ws = init(root)
    keys = KeyRing()
    admin.bootstrap_admin(ws, "admin", keys)
    for login, name, post, roles in USERS:
        line = keys.create(login, overwrite=True).line
        admin.manage_users(ws, "admin", "add", login, roles, name=name, title=post, key_line=line, keys=keys,
                           unit=UNITS.get(login, ""))
    timers.bootstrap_system(ws, "admin")
    return ws


def fields_for(workflow: str, state: str, n: int, rnd: random.Random) -> dict[str, Any]:
    school = SCHOOLS[n % len(SCHOOLS)]
    if workflow == "plan":
        return {"title": f"关于做好第{n}项重点工作的通知", "year": 2025,
                "kind": rnd.choice(["工作要点", "工作计划", "实施方案"]),
                "department": "办公室", "main_to": "各乡镇（街道）中心学校，县直各学校",
                "urgency": rnd.choice(["特急", "加急"] + ["平件"] * 8),
                "cosign_offices": rnd.sample(OFFICES, 2) if state == "countersign" else [],
                "sections": [
                    {"heading": "推进学前教育普及普惠", "content": "新建公办幼儿园。" * 3, "due": "2025-12-31"},
                    {"heading": "加强师资队伍建设", "content": "开展教师培训。" * 3, "due": "2025-10-31"}]}
    if workflow == "inspection":
        statuses = ["待整改", "已报整改", "复查通过", "已销号"]
        findings = [{"category": "消防", "description": f"问题{k}", "severity": "一般", "requirement": "限期整改",
                     "deadline": rnd.choice(["2025-05-31", "2025-07-31"]), "status": rnd.choice(statuses)}
                    for k in range(rnd.randint(0, 3))] if state in ("publish", "rechecked", "closed") else []
        return {"school": school, "stage": "小学", "kind": "综合督导", "notice_date": "2025-03-01",
                "visit_start": "2025-03-10", "visit_end": "2025-03-11",
                "team": [{"name": "刘洋", "role": "组长"}, {"name": "孙丽", "role": "成员"}],
                "findings": findings, "report_due": "2025-06-10" if state == "publish" else None}
    return {"school": school, "stage": "初中", "tier": "示范校", "batch": 2025,
            "self_report": "学校建立小微权力清单，推进校务公开。",
            "self_scores": [{"code": "1", "indicator": "组织领导", "score": "14"}],
            "publicity_start": "2025-06-05" if state in ("publicity", "publicized") else None,
            "publicity_end": rnd.choice(["2025-06-12", "2025-06-20"]) if state in ("publicity", "publicized") else None}


def insert_items(ws: Any, count: int, rnd: random.Random) -> None:
    """`count` more items, with their events, in batches of Core inserts."""
    from sqlalchemy import func, insert, select

    from workflow.definition import tally
    from workflow.definition.countersign import role_of_choice
    from workflow.engine import registry
    from workflow.store.orm import Event, Item

    definitions = {wf: registry.current(ws, wf) for wf in SHARE}
    creators = {"plan": ["zhangwei", "xuming"], "inspection": ["liuyang"], "clean_school": ["wufang", "chengang"]}
    with ws.db.write() as session:
        for d in definitions.values():
            registry.store(session, d, NOW)
        first = int(session.scalar(select(func.max(Item.id))) or 0) + 1
        numbered = {wf: int(session.scalar(select(func.count()).where(Item.workflow_id == wf)) or 0) for wf in SHARE}
    items: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def flush() -> None:
        with ws.db.write() as session:
            if items:
                session.execute(insert(Item.__table__), items)
            if events:
                session.execute(insert(Event.__table__), events)
        items.clear()
        events.clear()

    workflows = list(SHARE)
    weights = [SHARE[w] for w in workflows]
    for i in range(count):
        item_id = first + i
        wf = rnd.choices(workflows, weights)[0]
        d = definitions[wf]
        working = [s for s, st in d.states.items() if s != DONE[wf] and not getattr(st, "final", False)]
        state = DONE[wf] if rnd.random() < 0.6 else rnd.choice(working)
        numbered[wf] += 1
        key = f"{d.key_prefix}-2025-{numbered[wf]:06d}"
        fields = fields_for(wf, state, item_id, rnd)
        creator = rnd.choice(creators[wf])
        when = "2025-03-01T09:00:00+08:00"
        title = d.title_for(fields)
        items.append({"id": item_id, "key": key, "workflow_id": wf, "definition_hash": d.hash, "state": state,
                      "title": title, "fields": fields, "numbers": {}, "creator": creator, "created_at": when,
                      "updated_at": when, "updated_by": creator, "version": 3})

        common = {"item_id": item_id, "item_key": key, "actor_roles": [], "comment": "", "changes": {},
                  "time": when, "definition_hash": d.hash, "prev_hash": "0" * 64, "signature": None, "signer": None}

        def add(seq: int, transition: str, from_state: str | None, to_state: str, data: dict[str, Any],
                actor: str = creator, common: dict[str, Any] = common, title: str = title) -> None:
            events.append({**common, "seq": seq, "transition": transition, "from_state": from_state,
                           "to_state": to_state, "actor": actor, "data": {"version": seq, "title": title, **data},
                           "hash": f"{common['item_id']:032x}{seq:032x}"})

        add(1, "create", None, d.initial, {})
        add(2, "edit", d.initial, d.initial, {})
        seq = 2
        if state != d.initial:
            spec = d.states[state].countersign
            entry: dict[str, Any] = {}
            if spec is not None:
                roles = [r for r in (role_of_choice(d.roles, c) for c in fields.get("cosign_offices") or []) if r]
                parties = [{"id": r, "kind": "role", "title": d.role_title(r)} for r in roles]
                entry = {"countersign": {"parties": parties, "need": tally.required(spec, len(parties)),
                                         "quorum": spec.quorum, "disagree": spec.disagree}}
            seq += 1
            add(seq, "bench", d.initial, state, entry, actor="lina")
        if wf == "inspection" and state == "publish" and rnd.random() < 0.1:  # 催办, and some 督办
            seq += 1
            add(seq, "overdue", state, state, {"deadline": {"id": "rectification"}}, actor="system")
            if rnd.random() < 0.5:
                seq += 1
                add(seq, "escalate", state, state, {"deadline": {"id": "rectification"}}, actor="system")
        if len(items) >= 5000:
            flush()
    flush()


# -- the table --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="item counts, ascending (default %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="runs per median (default %(default)s)")
    parser.add_argument("--engine-up-to", type=int, default=0, metavar="N",
                        help="also time Engine.worklist and Engine.list_items (as engine.py wires them) up to N items")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GONGWEN_CONFIG_HOME"] = str(Path(tmp) / "account")
        os.environ["GONGWEN_NOW"] = NOW
        for name in ("GONGWEN_HOME", "GONGWEN_USER", "GONGWEN_DB"):
            os.environ.pop(name, None)
        run(Path(tmp) / "ws", sizes, args.runs, args.engine_up_to)


def run(root: Path, sizes: list[int], runs: int, engine_up_to: int) -> None:
    from workflow.engine import reads
    from workflow.engine.engine import Engine

    rnd = random.Random(20250616)
    ws = workspace_with_users(root)
    engine = Engine(ws)
    plan_fields = fields_for("plan", "draft", 0, rnd)
    made = engine.create("zhangwei", "plan", values={k: v for k, v in plan_fields.items() if v not in (None, [])})
    key = made.key
    have = 1
    columns = [f"worklist {w}" for w in WATCHED] + [f"whole worklist {WATCHED[0]}", "list page", "list last page",
                                                    "show", "do"]
    if engine_up_to:
        columns += ["Engine.worklist", "Engine.list_items"]
    results: dict[int, dict[str, float]] = {}
    print(f"{'items':>8} " + " ".join(f"{c:>17}" for c in columns) + "   (median s)")
    for size in sizes:
        start = time.perf_counter()
        insert_items(ws, size - have, rnd)
        have = size
        built = time.perf_counter() - start
        now = ws.now()
        row: dict[str, float] = {}
        for login in WATCHED:
            reads.worklist(ws, login, now, PAGE)  # warm: the definitions parsed
            row[f"worklist {login}"] = median(lambda login=login, now=now: reads.worklist(ws, login, now, PAGE), runs)
        row[f"whole worklist {WATCHED[0]}"] = median(lambda now=now: reads.worklist(ws, WATCHED[0], now), runs)
        row["list page"] = median(lambda: reads.list_items(ws, "zhaomin", limit=50, offset=0), runs)
        last = size - 50
        row["list last page"] = median(lambda last=last: reads.list_items(ws, "zhaomin", limit=50, offset=last), runs)
        row["show"] = median(lambda: engine.show("zhaomin", key), runs)
        row["do"] = median(lambda size=size: engine.fire("zhangwei", key, "edit", "",
                                                         [("contact", f"张伟{size}-{time.perf_counter_ns()}")]), runs)
        if engine_up_to and size <= engine_up_to:
            row["Engine.worklist"] = median(lambda: engine.worklist("chenjing"), max(1, runs // 2))
            row["Engine.list_items"] = median(lambda: engine.list_items("zhaomin"), max(1, runs // 2))
        results[size] = row
        print(f"{size:>8} " + " ".join(f"{row[c]:17.3f}" if c in row else f"{'-':>17}" for c in columns)
              + f"   (built in {built:.0f} s)", flush=True)
    for before, after in zip(sizes, sizes[1:]):
        ratios = " ".join(f"{results[after][c] / results[before][c]:17.1f}" if c in results[after]
                          and results[before].get(c) else f"{'-':>17}" for c in columns)
        print(f"{'×' + str(after // before):>8} {ratios}   (ratio {after:,} / {before:,} items)")
    largest = sizes[-1]
    for name, target in TARGETS.items():
        worst = max(v for c, v in results[largest].items() if c.startswith(name) and "Engine" not in c)
        verdict = "ok" if worst <= target else "OVER"
        print(f"target at {largest:,} items: {name} ≤ {target} s: {worst:.3f} s {verdict}"
              + ("" if largest >= 100_000 else " (the target is for 100,000 items)"))


if __name__ == "__main__":
    main()
