"""`gongwen demo`: a fresh workspace with users and Chinese sample data, one item of each
workflow taken from draft to publish (one of them returned for rework on the way).

The users, items and steps are data (data.yaml, next to this file); story.py plays them through
the engine, each step on its own day up to today, and says what it did."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.definition import yamlsrc
from workflow.errors import BadInput
from workflow.identity.keyring import DEMO_MARKER

if TYPE_CHECKING:
    from workflow.store.db import Database
    from workflow.store.workspace import Workspace

MARKER = DEMO_MARKER  # the folder is a rehearsal: its own keys act, and a new demo may replace it
DATA: dict[str, Any] = yamlsrc.load_plain(resources.files("workflow.demo").joinpath("data.yaml").read_text("utf-8"))
USERS: list[tuple[str, str, str, list[str]]] = [  # login, name, post, roles
    (login, user["name"], user["post"], list(user["roles"])) for login, user in DATA["users"].items()]
UNITS: dict[str, str] = {login: user["unit"] for login, user in DATA["users"].items() if user.get("unit")}

Say = Callable[[str], Any]


NOTE = "created by gongwen demo; `gongwen demo` may delete this folder while nothing is added to it\n"
TRANSIENT = {MARKER, "gongwen.db", "gongwen.db-wal", "gongwen.db-shm", "gongwen.db-journal"}


def _fingerprint(root: Path, ws: Workspace) -> dict[str, Any]:
    """What the demo left: the number of rows of every table, the head of the event chain, and
    every file of the folder (but the database's own) by sha256. Equal later: nothing was added."""
    import hashlib

    from sqlalchemy import inspect, text

    with ws.db.engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        rows = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() for name in tables}
        head = connection.execute(text("SELECT hash FROM events ORDER BY id DESC LIMIT 1")).scalar()
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file():
            files[relative] = "link" if path.is_symlink() else "folder"
        elif relative not in TRANSIENT:
            files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"database": ws.db.safe_url, "rows": rows, "head": head, "files": files}


def _untouched(root: Path) -> str | None:
    """None if `root` is a demo workspace exactly as the demo left it, else why it may not be
    replaced without --force."""
    from workflow.errors import GongwenError
    from workflow.store.workspace import DB_NAME, Workspace

    marker = root / MARKER
    if not marker.is_file():
        return "it is not a demo workspace"
    recorded_text = marker.read_text(encoding="utf-8", errors="replace").partition("\n")[2].strip()
    if not recorded_text:
        return ("it is a demo workspace without the record of what the demo left (an older gongwen's, or a demo "
                "that did not finish), so whether work was added cannot be told")
    try:
        recorded = json.loads(recorded_text)
        if not isinstance(recorded, dict):
            raise ValueError(recorded_text)
        own = Workspace(root).config.get("db_url") or f"sqlite:///{root / DB_NAME}"  # not --db nor GONGWEN_DB
        ws = Workspace(root, str(own), "the demo workspace's database")
    except (ValueError, GongwenError):
        return "its demo record (.gongwen-demo) or its gongwen.yaml is unreadable"
    try:
        from workflow.store.migrate import revision

        revision(ws.db)  # never opens (and so makes) a missing or empty file
        found = _fingerprint(root, ws)
    except (GongwenError, OSError):
        return "its database cannot be read to tell whether work was added"
    finally:
        ws.close()
    if found["rows"] != recorded.get("rows") or found["head"] != recorded.get("head"):
        events = found["rows"].get("events", 0) - (recorded.get("rows") or {}).get("events", 0)
        return (f"it holds work added since the demo made it ({events} event{'s' if events > 1 else ''} more)"
                if events > 0
                else "its database changed since the demo made it")
    if found["files"] != recorded.get("files"):
        changed = sorted(set(found["files"].items()) ^ set((recorded.get("files") or {}).items()))
        return f"files changed since the demo made it (e.g. {changed[0][0]})"
    return None


def _fresh_dir(directory: str | None, force: bool, db: Database | None) -> tuple[Path, bool]:
    """The demo's folder, emptied: missing, empty, an untouched demo workspace, or anything with
    --force (deleted). The demo's server database (if one is given) is checked first: reachable
    and empty, so that a refusal deletes nothing. Returns (folder, whether something was replaced)."""
    root = Path(directory or "gongwen-demo").resolve()
    if root.exists() and not root.is_dir():
        raise BadInput(f"{root} is a file, not a folder: give another DIR", reason="not_a_folder")
    replace = root.exists() and any(root.iterdir())
    if replace and (root.parent == root or root == Path.home().resolve()):
        raise BadInput(f"the demo never replaces {root}: give a folder of its own", reason="not_empty")
    if replace and not force:
        why = _untouched(root)
        if why is not None:
            raise BadInput(f"{root} is not empty and {why}: the demo would delete it; give another DIR, "
                           "or --force to replace it", reason="not_empty")
    if db is not None:
        from workflow.store.migrate import check_empty

        check_empty(db)  # unreachable or already used: refused before anything is deleted
    if replace:
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(NOTE, encoding="utf-8")
    return root, replace


def run_demo(directory: str | None = None, echo: Say | None = None, db_url: str | None = None,
             force: bool = False, db_given_by: str = "--db") -> dict[str, Any]:
    """The demo in `directory` (default gongwen-demo), on `db_url` (an empty database) or a
    SQLite file in the folder. The folder must be empty, missing or an untouched demo workspace,
    unless `force`: then whatever is there is deleted."""
    from workflow.demo import story
    from workflow.engine import admin, timers
    from workflow.engine.engine import Engine
    from workflow.identity.keyring import KeyRing
    from workflow.store.db import Database
    from workflow.store.workspace import init

    say: Say = echo or (lambda *_: None)
    target = Database(db_url, db_given_by) if db_url else None  # a bad URL is refused before anything
    try:
        root, replaced = _fresh_dir(directory, force, target)
    finally:
        if target is not None:
            target.dispose()
    ws = init(root, DATA["issuer"]["name"], DATA["issuer"]["code"], db_url, db_given_by, issuers=DATA["issuers"])
    keys = KeyRing(root)  # demo keys, inside the demo workspace (.demo-keys/)
    engine = Engine(ws, keys)
    _rehearsal_calendar(root, engine.now().date())
    clock = story.Clock(engine.now().date(), timers.calendar(ws), ws.timezone)
    ws.clock = story.opening(DATA["items"], clock)  # the users exist before the story's first step
    admin.bootstrap_admin(ws, "admin", keys, demo=True)
    for login, name, post, roles in USERS:
        line = keys.create(login, demo=True).line
        admin.manage_users(ws, "admin", "add", login, roles, name=name, title=post, key_line=line, keys=keys,
                           unit=UNITS.get(login, ""))
    timers.bootstrap_system(ws, "admin", keys, demo=True)  # so that `gongwen tick` runs in the rehearsal
    say(f"demo workspace: {root}")
    say("users: " + "，".join(f"{name}（{login}，{post}）" for login, name, post, _ in USERS))
    log: list[dict[str, str]] = []
    items = story.play(engine, DATA["items"], clock, say, log)
    say("")
    auditor = DATA["auditor"]
    for summary in engine.list_items(auditor):
        say(f"{summary.key}  {summary.state}（{summary.state_title}）  {summary.title}"
            + "".join(f"  {n}：{v}" for n, v in summary.numbers.items()))
    for wl in engine.worklist(auditor):
        say(f"{DATA['users'][auditor]['name']}（审计）的工作清单 · {wl.workflow_title} · {wl.title}："
            f"{len(wl.items)} 件")
    say(f"\nnext: cd {root} && gongwen --as {auditor} show {items[0]}")
    states = engine_states(ws, items)
    (root / MARKER).write_text(NOTE + json.dumps(_fingerprint(root, ws), ensure_ascii=False, sort_keys=True) + "\n",
                               encoding="utf-8")
    ws.close()
    return {"workspace": str(root), "replaced": replaced, "items": states, "steps": log}


def _rehearsal_calendar(root: Path, today: dt.date) -> None:
    """A rehearsal run in a year chinese-calendar does not know yet (or close to its end) would
    refuse its 公示 periods (calendar_unknown). The demo then writes calendar.yaml for those years
    with only the fixed-date holidays, and says so in the file; a bureau enters the State Council's
    notice for the year instead (or updates chinese-calendar)."""
    import chinese_calendar

    from workflow.engine.workdays import FILE

    def known(year: int) -> bool:
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
            return True
        except NotImplementedError:
            return False

    missing = [year for year in (today.year - 1, today.year, today.year + 1) if not known(year)]
    if not missing:
        return
    holidays = [dt.date(y, m, d).isoformat() for y in missing
                for m, d in ((1, 1), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5))]
    (root / FILE).write_text(
        "# gongwen demo: a rehearsal assumption, NOT the official calendar. chinese-calendar does not know\n"
        f"# {', '.join(map(str, missing))} yet, so only the fixed-date holidays are listed (no 春节, no 调休).\n"
        "# A bureau enters the State Council's notice for the year here, or updates chinese-calendar.\n"
        f"years: [{', '.join(map(str, missing))}]\nholidays: [{', '.join(holidays)}]\nworkdays: []\n",
        encoding="utf-8")


def engine_states(ws: Workspace, keys: list[str]) -> list[dict[str, Any]]:
    from workflow.engine.engine import Engine

    return [{"key": v.key, "workflow": v.workflow, "state": v.state, "numbers": v.numbers}
            for v in Engine(ws).list_items(DATA["auditor"]) if v.key in keys]
