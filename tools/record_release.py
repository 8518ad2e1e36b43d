"""Record the data of a workspace made by the older release (schema revision 0001), for
tests/test_migrations.py.

    git worktree add /tmp/gongwen-0001 663d600
    python tools/record_release.py /tmp/gongwen-0001          # writes tests/data/release_0001.json
    git worktree remove /tmp/gongwen-0001

663d600 is the last commit of the release whose schema ended at 0002 (the flat workflow/ package:
workflow/engine.py, workflow/workspace.py, workflow/migrations/). The workspace is made the way
the older release at revision 0001 made one: its migrations folder is cut after 0001 and its
schema.HEAD set to 0001, then that release's own code runs, in a subprocess whose PYTHONPATH is
the checkout and whose clock is fixed (GONGWEN_NOW): init, the admin and the demo's users, a few
items of the three workflows through transitions (documents rendered), an approval form signed in
Word and ingested (form_receipts, the evidence blob), a published plan (a 发文字号) and an audit
checkpoint. The older release's own `audit verify` must pass before anything is written.

The output holds every row of every table but alembic_version, in primary-key order, as JSON:
binary columns (listed under "binary") as base64, JSON columns as their values. This script
imports nothing from gongwen in its own process, only SQLAlchemy to read the recorded database.
"""

import argparse
import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "data" / "release_0001.json"
REVISION = "0001"
NOW = "2025-03-10T09:00:00"  # the tests' clock (tests/helpers.py)


# -- in the older release's process ------------------------------------------------------------
def make_workspace(checkout, folder):
    """Runs with the checkout first on sys.path: its workflow package, its migrations."""
    from workflow import admin, audit, formfill, registry, schema, users
    from workflow.demo import USERS
    from workflow.engine import Engine
    from workflow.ingest import ingest
    from workflow.workspace import init

    where = Path(schema.__file__).resolve()
    if not where.is_relative_to(checkout):
        raise SystemExit(f"imported {where}, not the older release in {checkout}")
    migrations = folder / f"migrations-{REVISION}"  # the migrations folder as it was at 0001
    shutil.copytree(schema.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (migrations / "versions").glob("*.py"):
        if path.name != "__init__.py" and not path.name.startswith(REVISION + "_"):
            path.unlink()
    schema.MIGRATIONS, schema.HEAD = migrations, REVISION

    ws = init(folder / "ws")
    assert schema.current(ws.db) == REVISION == schema.heads()
    engine = Engine(ws)
    admin.bootstrap_admin(ws, "admin")
    with ws.db.write() as session:
        for login, name, post, granted in USERS:
            users.add(session, login, name, post, granted, admin.known_roles(ws), NOW)
    keys = {}

    def item(name, creator, workflow, values, *steps):
        key = engine.create(creator, workflow, values=values)["key"]
        for login, transition, *more in steps:
            engine.fire(login, key, transition, *more)
        keys[name] = key

    plan = {"title": "某某县教育局2025年工作要点", "year": 2025, "kind": "工作要点", "department": "办公室",
            "sections": [{"heading": "推进学前教育普及普惠", "content": "新建公办幼儿园。", "due": "2025-12-31"}]}
    item("published", "zhangwei", "plan", plan, ("zhangwei", "submit"), ("lina", "forward", "同意呈送签发。"))
    item("returned", "zhangwei", "plan", {**plan, "title": "某某县教育局2025年工作计划"},
         ("zhangwei", "submit"), ("lina", "return", "请补充量化目标。"))
    item("inspection", "liuyang", "inspection",
         {"school": "某某县第一实验小学", "stage": "小学", "kind": "综合督导", "notice_date": "2025-01-02",
          "visit_start": "2025-01-10", "visit_end": "2025-01-11",
          "team": [{"name": "刘洋", "role": "组长"}, {"name": "孙丽", "role": "成员"}]},
         ("liuyang", "notify"))
    item("clean_school", "zhangwei", "clean_school",
         {"school": "某某县城关中学", "stage": "初中", "tier": "示范校", "batch": 2025,
          "self_report": "学校建立小微权力清单，推进校务公开。",
          "self_scores": [{"code": "1", "indicator": "组织领导", "score": "14"}],
          "veto_items": [{"item": "班子成员违纪违法受处分", "hit": False}]},
         ("zhangwei", "submit"))

    # the supervisor signs the 发文稿纸 handed out at forward in Word; the office ingests it (approve)
    [event] = [e for e in engine.history("zhaomin", keys["published"])["history"] if e["transition"] == "forward"]
    [doc] = [d for d in event["data"]["documents"] if "form_id" in d]
    with ws.db.read() as session:
        definition = engine.get_item(session, keys["published"]).definition_hash
        spec = registry.pinned(session, definition).transitions["forward"].form
    blank = (ws.root / "documents" / keys["published"] / doc["file"]).read_bytes()
    signed = folder / "returned" / "签发.docx"
    signed.parent.mkdir()
    signed.write_bytes(formfill.fill(blank, spec, "同意", opinion="同意印发。", signer="王强", date="2025年3月10日"))
    [result] = ingest(engine, "chenjing", [str(signed)], None)
    assert result["ok"], result
    engine.fire("chenjing", keys["published"], "publish")
    checkpoint = audit.make_checkpoint(ws.db, "zhaomin", NOW)
    report = audit.verify(ws.db)
    assert report.ok, report.problems
    ws.close()
    return {"workspace": str(ws.root), "keys": keys, "checkpoint": checkpoint["line"],
            "config": (ws.root / "gongwen.yaml").read_text(encoding="utf-8")}


# -- in this process ---------------------------------------------------------------------------
def commit_of(checkout):
    found = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def dump(db_file):
    """Every row of every table but alembic_version, in primary-key order."""
    from sqlalchemy import JSON, LargeBinary, MetaData, create_engine, select

    engine = create_engine(f"sqlite:///{db_file}")
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        tables, binary, as_json = {}, {}, {}
        with engine.connect() as connection:
            for name, table in sorted(metadata.tables.items()):
                if name == "alembic_version":
                    continue
                columns = [c.name for c in table.columns]
                blobs = [c.name for c in table.columns if isinstance(c.type, LargeBinary)]
                if blobs:
                    binary[name] = blobs
                if any(isinstance(c.type, JSON) for c in table.columns):
                    as_json[name] = [c.name for c in table.columns if isinstance(c.type, JSON)]
                rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
                tables[name] = {"columns": columns, "rows": [
                    [base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in row] for row in rows]}
        return tables, binary, as_json
    finally:
        engine.dispose()


def to_json(dataset):
    """JSON with one table row a line (readable and diffable)."""
    text = lambda value: json.dumps(value, ensure_ascii=False)
    head = [f" {text(k)}: {text(v)}" for k, v in dataset.items() if k != "tables"]
    tables = [f"  {text(name)}: {{\"columns\": {text(t['columns'])}, \"rows\": [\n"
              + ",\n".join("   " + text(row) for row in t["rows"]) + "]}"
              for name, t in dataset["tables"].items()]
    return "{\n" + ",\n".join([*head, ' "tables": {\n' + ",\n".join(tables) + "}"]) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout (git worktree) of the older release, e.g. 663d600")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(REPO)}")
    parser.add_argument("--in-release", type=Path, help=argparse.SUPPRESS)  # the subprocess: its folder
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    if args.in_release:
        print(json.dumps(make_workspace(checkout, args.in_release)))
        return
    if not (checkout / "workflow" / "engine.py").is_file() or not (
            checkout / "workflow" / "migrations" / "versions" / f"{REVISION}_initial_schema.py").is_file():
        parser.error(f"{checkout} is not a checkout of the older release (workflow/engine.py, workflow/migrations/)")

    with tempfile.TemporaryDirectory(prefix="gongwen-release-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
        env.update(GONGWEN_NOW=NOW, PYTHONPATH=str(checkout))
        run = subprocess.run([sys.executable, __file__, str(checkout), "--in-release", folder],
                             cwd=folder, env=env, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"the older release failed:\n{run.stdout}{run.stderr}")
        made = json.loads(run.stdout.strip().splitlines()[-1])
        tables, binary, as_json = dump(Path(made["workspace"]) / "gongwen.db")

    commit = commit_of(checkout)
    dataset = {
        "about": ("A workspace made by the older release at schema revision 0001, recorded by "
                  "tools/record_release.py with that release's own code: every row of every table "
                  "but alembic_version, in primary-key order. Columns listed under 'binary' are base64."),
        "release": {"commit": commit, "revision": REVISION, "now": NOW,
                    "recorded_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                    "command": f"python tools/record_release.py <checkout of {(commit or '?')[:7]}>"},
        "keys": made["keys"],
        "checkpoint": made["checkpoint"],
        "config": made["config"],
        "binary": binary,
        "json": as_json,
        "tables": tables,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_json(dataset), encoding="utf-8")
    counts = ", ".join(f"{name} {len(t['rows'])}" for name, t in tables.items())
    print(f"{args.out}: {args.out.stat().st_size:,} bytes; rows: {counts}")


if __name__ == "__main__":
    main()
