"""`gongwen audit export`: the full history for an auditor, as CSV (one row per event), JSON, or
one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched): the verify and
replay results at the top, per workflow a diagram of its states with item counts, per item a
timeline (who, when, what, comment, documents with their sha256). The HTML comes from
templates/report.html.j2 with autoescape on: every value in it was typed by someone."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup
from sqlalchemy.engine import Connection

from workflow.audit import eventlog
from workflow.audit import verify as audit
from workflow.audit.merkle import Checkpoint
from workflow.audit.replay import replay
from workflow.definition.diff import field_changes
from workflow.engine import registry, users
from workflow.engine.views import TITLES, form_entry
from workflow.errors import BadInput, GongwenError
from workflow.identity.keys import Registered, signature_status
from workflow.inputs import write_all

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.definition.model import Definition
    from workflow.store.workspace import Workspace

CSV_COLUMNS = ["item", "workflow", "seq", "time", "actor", "roles", "transition", "from", "to", "comment",
               "documents", "hash"]
KINDS = {"chain_broken": "哈希链断开", "event_altered": "事件内容被改", "sequence_gap": "事件序号不连续",
         "item_state": "事项状态被改", "item_without_events": "事项没有历史", "item_key": "事项编号被改",
         "item_missing": "事项被删除", "document_altered": "文件被改", "document_missing": "文件缺失",
         "log_truncated": "最新事件被删", "log_rewritten": "历史被重写",
         "replay": "回放异常"}

NOTES = {audit.TRUNCATION_NOTE: "未提供此前的检查点，因此无法发现“删除最新事件”这种篡改。请把 gongwen audit checkpoint "
                                "打印的一行保存在系统之外（打印、邮寄或归档），下次核查时用 --checkpoint 给出。"}


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except (TypeError, ValueError):  # a damaged column is shown as it is stored
        return text


def _numbers_text(d: Definition | None, numbers: Any) -> str:
    """发文字号：某教发〔2025〕1号 (the number's title from the definition)."""
    if not isinstance(numbers, dict):
        return ""
    spec = getattr(d, "numbers", {})
    return "；".join(f"{getattr(spec.get(k), 'title', k)}：{v}" for k, v in numbers.items())


def _definitions(session: Session, versions: Iterable[str]) -> dict[str, Definition | None]:
    found: dict[str, Definition | None] = {}
    for version in versions:
        try:
            found[version] = registry.pinned(session, version)
        except GongwenError:  # a version that is gone or no longer parses: shown by its ids
            found[version] = None
    return found


_UNSIGNED = {"signed_by": None, "signature": "unsigned"}


def _signatures(connection: Connection, keys: Registered) -> dict[int, dict[str, Any]]:
    """Event id -> who signed it and whether the signature verifies with their registered key."""
    found: dict[int, dict[str, Any]] = {}
    for event_id, digest, signature, signer in connection.exec_driver_sql(
            "SELECT id, hash, signature, signer FROM events WHERE signature IS NOT NULL AND item_id IS NOT NULL"):
        signed_by, status = signature_status(digest, signature, signer, keys)
        found[event_id] = {"signed_by": signed_by, "signature": status}
    return found


def _event(row: eventlog.Row, d: Definition | None, names: dict[str, str],
           own: Definition | None = None) -> dict[str, Any]:
    """One event as the report shows it; `own` is the definition version the event was recorded
    under (its field changes are labelled from it), by default `d`, the item's."""
    (event_id, _item, _key, seq, transition, source, target, actor, roles, comment, changes, data, time, _version,
     prev_hash, digest) = row
    data, roles, changes = (_json(text) for text in (data, roles, changes))
    data = data if isinstance(data, dict) else {}
    tr, fields = d.transitions.get(transition) if d else None, getattr(d, "fields", {})
    return {"event_id": event_id, "seq": seq, "time": time, "actor": actor, "actor_name": names.get(actor, ""),
            "roles": roles, "role_titles": [d.role_title(r) if d else r for r in roles if isinstance(r, str)]
            if isinstance(roles, list) else [], "transition": transition,
            "transition_title": tr.title if tr else TITLES.get(transition, transition),
            "from": source, "from_title": d.state_title(source) if d and source else source,
            "to": target, "to_title": d.state_title(target) if d else target, "comment": comment, "changes": changes,
            "changed": [fields[n].label if n in fields else n for n in changes]
            if isinstance(changes, dict) and transition != "create" else [],
            "field_changes": [c.to_json() for c in field_changes(getattr(own or d, "fields", {}), changes)]
            if transition != "create" else [],
            "numbers": data.get("numbers") or {}, "numbers_text": _numbers_text(d, data.get("numbers")),
            "documents": data.get("documents") or [], "form": data.get("form"), "prev_hash": prev_hash, "hash": digest}


def _workflow(workflow_id: str, version: str, d: Definition | None,
              items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(i["state"] for i in items if i["workflow"] == workflow_id)
    states = [{"id": s.id, "title": s.title, "final": s.final, "count": counts.pop(s.id, 0)}
              for s in (d.states.values() if d else [])]
    states += [{"id": s, "title": str(s), "final": False, "count": n} for s, n in counts.items()]
    return {"id": workflow_id, "title": d.title if d else workflow_id, "version": version,
            "initial": d.initial if d else None, "items": sum(s["count"] for s in states), "states": states,
            "transitions": [{"id": t.id, "title": t.title, "from": list(t.sources), "to": t.target}
                            for t in (d.transitions.values() if d else [])]}


def collect(workspace: Workspace, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
    """Everything the three formats show: verify, replay, workflows, items with their events."""
    verified, replayed = audit.verify(workspace.db, checkpoint, root=True), replay(workspace)
    with workspace.db.read() as session:
        connection = session.connection()
        names: dict[str, str] = dict(connection.exec_driver_sql("SELECT login, name FROM users").all())
        keys = users.registered_keys(session)
        signed = _signatures(connection, keys)
        rows = connection.exec_driver_sql("SELECT id, key, workflow_id, definition_hash, state, title, numbers, "
                                          "creator, created_at FROM items ORDER BY id").all()
        latest = dict((w, h) for h, w in connection.exec_driver_sql(
            "SELECT hash, workflow_id FROM definition_versions ORDER BY stored_at, hash"))
        definitions = _definitions(session, {r[3] for r in rows} | set(latest.values()))
        items: dict[Any, dict[str, Any]] = {}
        for item_id, key, workflow_id, version, state, title, numbers, creator, created in rows:
            d = definitions.get(version)
            items[item_id] = {"key": key, "title": title, "workflow": workflow_id,
                              "workflow_title": d.title if d else workflow_id, "state": state,
                              "state_title": d.state_title(state) if d else state, "numbers": _json(numbers),
                              "numbers_text": _numbers_text(d, _json(numbers)), "creator": creator,
                              "creator_name": names.get(creator, ""), "created_at": created,
                              "definition_version": version, "events": [], "problems": []}
        for row in eventlog.event_rows(connection):
            if row[1] is None:  # user, role and key events (@users) and upgrades: not an item's
                continue
            item = items.get(row[1])
            if item is None:  # events whose item row is gone
                item = items[row[1]] = {"key": row[2], "title": "（事项记录已不在数据库中）", "workflow": "",
                                        "workflow_title": "", "state": None, "state_title": "", "numbers": {},
                                        "numbers_text": "", "creator": "", "creator_name": "", "created_at": "",
                                        "definition_version": row[13], "events": [], "problems": []}
            d = definitions.get(item["definition_version"]) or _definitions(session, [row[13]]).get(row[13])
            if row[13] not in definitions:  # an event recorded under an earlier version (migrated since)
                definitions.update(_definitions(session, [row[13]]))
            event = {**_event(row, d, names, definitions.get(row[13])), **signed.get(row[0], _UNSIGNED)}
            event["entry"], event["form_signature"] = form_entry(
                {"form": event["form"]}, event["actor"], event["transition"], event["comment"] or "", keys)
            item["events"].append(event)
    by_key = {item["key"]: item for item in items.values()}
    for p in verified.problems:
        if p.item in by_key:
            by_key[p.item]["problems"].append({"kind": p.kind, "seq": p.seq, "message": p.message})
    for a in replayed.anomalies:
        if a.item in by_key:
            by_key[a.item]["problems"].append({"kind": "replay", "seq": a.seq, "message": a.problem})
    return {"title": f"{workspace.config.get('issuer_name', '')} 公文流转审计报告",
            "generated_at": workspace.now().isoformat(), "verify": verified.to_json(),
            "replay": {k: v for k, v in replayed.to_json().items() if k in ("ok", "events", "items", "anomalies")},
            "workflows": [_workflow(w, h, definitions.get(h), items.values()) for w, h in sorted(latest.items())],
            "items": list(items.values())}


def _documents_text(event: dict[str, Any]) -> str:
    return "; ".join(f"{d.get('file')} {d.get('sha256')}" for d in event["documents"] if isinstance(d, dict))


def to_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = [(e["event_id"], item, e) for item in data["items"] for e in item["events"]]
    for _, item, e in sorted(rows, key=lambda r: r[0]):
        roles = ",".join(map(str, e["roles"])) if isinstance(e["roles"], list) else e["roles"]
        writer.writerow([item["key"], item["workflow"], e["seq"], e["time"], e["actor"], roles, e["transition"],
                         e["from"] or "", e["to"], e["comment"], _documents_text(e), e["hash"]])
    return out.getvalue()


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)




# -- HTML ---------------------------------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 140, 54, 130, 50, 16


def _layout(wf: dict[str, Any]) -> dict[str, tuple[float, int]]:
    """Rows by distance from the initial state (breadth first; unreached states last), the states
    of a row side by side, each row centred: state -> (x, y) of its box."""
    ids = [s["id"] for s in wf["states"]]
    depth, queue = ({wf["initial"]: 0}, [wf["initial"]]) if wf["initial"] in ids else ({}, [])
    for state in queue:  # grows while it is walked
        for t in wf["transitions"]:
            if state in t["from"] and t["to"] in ids and t["to"] not in depth:
                depth[t["to"]] = depth[state] + 1
                queue.append(t["to"])
    rows: dict[int, list[str]] = {}
    for state in ids:
        rows.setdefault(depth.get(state, len(ids)), []).append(state)
    widest = max(map(len, rows.values()), default=0)
    return {state: (PAD + (widest - len(rows[row])) * (BOX_W + GAP_X) / 2 + index * (BOX_W + GAP_X),
                    PAD + number * (BOX_H + GAP_Y))
            for number, row in enumerate(sorted(rows)) for index, state in enumerate(rows[row])}


def _edge_end(cx: float, cy: float, dx: float, dy: float) -> tuple[float, float]:
    scale = min((BOX_W / 2 + 3) / abs(dx) if dx else math.inf, (BOX_H / 2 + 3) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def diagram(wf: dict[str, Any]) -> dict[str, Any] | None:
    """Where the template draws a workflow (None: no states): a rounded box per state with its
    title and item count, a straight arrow per pair of states a transition joins, labelled with the
    transitions' titles. Numbers and the texts to place; the template writes (and escapes) them."""
    place = _layout(wf)
    if not place:
        return None
    edges: dict[tuple[str, str], list[str]] = {}
    for t in wf["transitions"]:
        for source in t["from"]:
            if t["to"] not in (None, source) and source in place and t["to"] in place:
                edges.setdefault((source, t["to"]), []).append(t["title"])
    lines, labels = [], []
    for (source, target), titles in edges.items():
        (x1, y1), (x2, y2) = place[source], place[target]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1
        nx, ny = -dy / length, dx / length
        shift = 6 if (target, source) in edges else 0  # both directions: two parallel lines
        ox, oy = nx * shift, ny * shift
        ax, ay = _edge_end(x1 + BOX_W / 2, y1 + BOX_H / 2, dx, dy)
        bx, by = _edge_end(x2 + BOX_W / 2, y2 + BOX_H / 2, -dx, -dy)
        lines.append((ax + ox, ay + oy, bx + ox, by + oy))
        # the label beside its own line (on the side it is shifted to), above a sideways one
        if abs(dy) < 1:
            lx, ly, anchor = (ax + bx) / 2, (ay + by) / 2 + (-7 if dx > 0 else 15), "middle"
        else:
            at = 0.5 if abs(dx) < 1 else 0.62  # slanted: nearer the target, away from the vertical ones
            lx, ly, anchor = ax + (bx - ax) * at + nx * 9, ay + (by - ay) * at + 4, "start" if nx > 0 else "end"
        labels.append({"x": lx, "y": ly, "anchor": anchor, "titles": titles})
    boxes = [{"x": x, "y": y, "cx": x + BOX_W / 2, "id": state["id"], "title": state["title"],
              "count": state["count"], "final": state["final"]}
             for state in wf["states"] for x, y in [place[state["id"]]]]
    return {"title": wf["title"], "width": round(max(x for x, _ in place.values()) + BOX_W + PAD),
            "height": round(max(y for _, y in place.values()) + BOX_H + PAD), "box_w": BOX_W, "box_h": BOX_H,
            "lines": lines, "labels": labels, "boxes": boxes}


def _escape(value: Any) -> Markup:
    """The template's autoescape, spelling quotes as html.escape does (&quot; &#x27;), as the report
    always has, where markupsafe would write &#34; &#39;. What is already markup passes as it is."""
    return value if isinstance(value, Markup) else Markup(html.escape(str(value)))


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("workflow.audit", "templates"), autoescape=True,
                             finalize=_escape, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["when"] = lambda text: str(text or "")[:19].replace("T", " ")  # ISO time, to the second
    return env.get_template("report.html.j2")


def to_html(data: dict[str, Any]) -> str:
    return _template().render(data=data, kinds=KINDS, notes=NOTES, layout=diagram)


# -- export -------------------------------------------------------------------------------------
FORMATS = {"csv": to_csv, "json": to_json, "html": to_html}
SUFFIXES = {".csv": "csv", ".json": "json"}  # anything else: html


@dataclass(frozen=True)
class ExportSummary:
    """What `audit export` wrote, and the verdicts in it."""
    file: str
    format: str
    items: int
    events: int
    verify_ok: bool
    replay_ok: bool

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "items": self.items, "events": self.events,
                "verify_ok": self.verify_ok, "replay_ok": self.replay_ok}


def export(workspace: Workspace, fmt: str, checkpoint: Checkpoint | None = None) -> tuple[str, dict[str, Any]]:
    """The export's text in `fmt` (csv, json, html) and the data it shows."""
    data = collect(workspace, checkpoint)
    return FORMATS[fmt](data), data


def write_export(workspace: Workspace, output: str | Path, fmt: str | None = None,
                 checkpoint: Checkpoint | None = None) -> ExportSummary:
    """Write the export to the file `output`, in `fmt` or else the one its suffix names (.csv,
    .json; else html). A path that cannot be written is refused before the history is read."""
    path = Path(output)
    fmt = fmt or SUFFIXES.get(path.suffix.lower(), "html")
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: the folder {path.parent} does not exist")
    content, data = export(workspace, fmt, checkpoint)
    # utf-8-sig for CSV: Excel reads the Chinese text correctly only with the byte-order mark
    write_all([(path, content.encode("utf-8-sig" if fmt == "csv" else "utf-8"))])  # whole, or not at all
    return ExportSummary(str(path), fmt, len(data["items"]), sum(len(i["events"]) for i in data["items"]),
                         data["verify"]["ok"], data["replay"]["ok"])
