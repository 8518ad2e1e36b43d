"""`gongwen audit export`: the full history for an auditor, as CSV (one row per event), JSON, or
one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched): the verify and
replay results at the top, per workflow a diagram of its states with item counts, per item a
timeline (who, when, what, comment, documents with their sha256)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from html import escape

from workflow.audit import eventlog
from workflow.audit import verify as audit
from workflow.audit.replay import replay
from workflow.engine import registry
from workflow.errors import GongwenError

CSV_COLUMNS = ["item", "workflow", "seq", "time", "actor", "roles", "transition", "from", "to", "comment",
               "documents", "hash"]
KINDS = {"chain_broken": "哈希链断开", "event_altered": "事件内容被改", "sequence_gap": "事件序号不连续",
         "item_state": "事项状态被改", "item_without_events": "事项没有历史", "item_key": "事项编号被改",
         "item_missing": "事项被删除", "document_altered": "文件被改", "document_missing": "文件缺失",
         "log_truncated": "最新事件被删", "log_rewritten": "历史被重写",
         "replay": "回放异常"}

NOTES = {audit.TRUNCATION_NOTE: "未提供此前的检查点，因此无法发现“删除最新事件”这种篡改。请把 gongwen audit checkpoint "
                                "打印的一行保存在系统之外（打印、邮寄或归档），下次核查时用 --checkpoint 给出。"}


def _json(text):
    try:
        return json.loads(text) if text is not None else None
    except (TypeError, ValueError):  # a damaged column is shown as it is stored
        return text


def _numbers_text(d, numbers) -> str:
    """发文字号：某教发〔2025〕1号 (the number's title from the definition)."""
    if not isinstance(numbers, dict):
        return ""
    spec = getattr(d, "numbers", {})
    return "；".join(f"{getattr(spec.get(k), 'title', k)}：{v}" for k, v in numbers.items())


def _definitions(session, versions) -> dict:
    found = {}
    for version in versions:
        try:
            found[version] = registry.pinned(session, version)
        except GongwenError:  # a version that is gone or no longer parses: shown by its ids
            found[version] = None
    return found


def _event(row, d, names) -> dict:
    (event_id, _item, _key, seq, transition, source, target, actor, roles, comment, changes, data, time, _version,
     prev_hash, digest) = row
    data, roles, changes = (_json(text) for text in (data, roles, changes))
    data = data if isinstance(data, dict) else {}
    tr, fields = d.transitions.get(transition) if d else None, getattr(d, "fields", {})
    return {"event_id": event_id, "seq": seq, "time": time, "actor": actor, "actor_name": names.get(actor, ""),
            "roles": roles, "role_titles": [d.role_title(r) if d else r for r in roles if isinstance(r, str)]
            if isinstance(roles, list) else [], "transition": transition,
            "transition_title": tr.title if tr else ("创建" if transition == "create" else transition),
            "from": source, "from_title": d.state_title(source) if d and source else source,
            "to": target, "to_title": d.state_title(target) if d else target, "comment": comment, "changes": changes,
            "changed": [fields[n].label if n in fields else n for n in changes]
            if isinstance(changes, dict) and transition != "create" else [],
            "numbers": data.get("numbers") or {}, "numbers_text": _numbers_text(d, data.get("numbers")),
            "documents": data.get("documents") or [], "form": data.get("form"), "prev_hash": prev_hash, "hash": digest}


def _workflow(workflow_id, version, d, items) -> dict:
    counts = Counter(i["state"] for i in items if i["workflow"] == workflow_id)
    states = [{"id": s.id, "title": s.title, "final": s.final, "count": counts.pop(s.id, 0)}
              for s in (d.states.values() if d else [])]
    states += [{"id": s, "title": str(s), "final": False, "count": n} for s, n in counts.items()]
    return {"id": workflow_id, "title": d.title if d else workflow_id, "version": version,
            "initial": d.initial if d else None, "items": sum(s["count"] for s in states), "states": states,
            "transitions": [{"id": t.id, "title": t.title, "from": list(t.sources), "to": t.target}
                            for t in (d.transitions.values() if d else [])]}


def collect(workspace, checkpoint: tuple[int, str] | None = None) -> dict:
    """Everything the three formats show: verify, replay, workflows, items with their events."""
    verified, replayed = audit.verify(workspace.db, checkpoint, root=True), replay(workspace)
    with workspace.db.read() as session:
        connection = session.connection()
        names = dict(connection.exec_driver_sql("SELECT login, name FROM users").all())
        rows = connection.exec_driver_sql("SELECT id, key, workflow_id, definition_hash, state, title, numbers, "
                                          "creator, created_at FROM items ORDER BY id").all()
        latest = dict((w, h) for h, w in connection.exec_driver_sql(
            "SELECT hash, workflow_id FROM definition_versions ORDER BY stored_at, hash"))
        definitions = _definitions(session, {r[3] for r in rows} | set(latest.values()))
        items = {}
        for item_id, key, workflow_id, version, state, title, numbers, creator, created in rows:
            d = definitions.get(version)
            items[item_id] = {"key": key, "title": title, "workflow": workflow_id,
                              "workflow_title": d.title if d else workflow_id, "state": state,
                              "state_title": d.state_title(state) if d else state, "numbers": _json(numbers),
                              "numbers_text": _numbers_text(d, _json(numbers)), "creator": creator,
                              "creator_name": names.get(creator, ""), "created_at": created,
                              "definition_version": version, "events": [], "problems": []}
        for row in eventlog.event_rows(connection):
            item = items.get(row[1])
            if item is None:  # events whose item row is gone
                item = items[row[1]] = {"key": row[2], "title": "（事项记录已不在数据库中）", "workflow": "",
                                        "workflow_title": "", "state": None, "state_title": "", "numbers": {},
                                        "numbers_text": "", "creator": "", "creator_name": "", "created_at": "",
                                        "definition_version": row[13], "events": [], "problems": []}
            d = definitions.get(item["definition_version"]) or _definitions(session, [row[13]]).get(row[13])
            item["events"].append(_event(row, d, names))
    by_key = {item["key"]: item for item in items.values()}
    for p in verified.problems:
        if p.item in by_key:
            by_key[p.item]["problems"].append({"kind": p.kind, "seq": p.seq, "message": p.message})
    for a in replayed.anomalies:
        if a.get("item") in by_key:
            by_key[a["item"]]["problems"].append({"kind": "replay", "seq": a.get("seq"), "message": a["problem"]})
    return {"title": f"{workspace.config.get('issuer_name', '')} 公文流转审计报告",
            "generated_at": workspace.now().isoformat(), "verify": verified.as_dict(),
            "replay": {k: v for k, v in replayed.as_dict().items() if k in ("ok", "events", "items", "anomalies")},
            "workflows": [_workflow(w, h, definitions.get(h), items.values()) for w, h in sorted(latest.items())],
            "items": list(items.values())}


def _documents_text(event: dict) -> str:
    return "; ".join(f"{d.get('file')} {d.get('sha256')}" for d in event["documents"] if isinstance(d, dict))


def to_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = [(e["event_id"], item, e) for item in data["items"] for e in item["events"]]
    for _, item, e in sorted(rows, key=lambda r: r[0]):
        roles = ",".join(map(str, e["roles"])) if isinstance(e["roles"], list) else e["roles"]
        writer.writerow([item["key"], item["workflow"], e["seq"], e["time"], e["actor"], roles, e["transition"],
                         e["from"] or "", e["to"], e["comment"], _documents_text(e), e["hash"]])
    return out.getvalue()


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


# -- HTML ---------------------------------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 140, 54, 130, 50, 16
CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;
background:#f4f1ea;color:#222;font-size:14px;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px;background:#fff;box-shadow:0 0 12px #0001}
h1{font-size:26px;margin:0 0 4px;color:#8b1a1a;letter-spacing:2px}
h2{font-size:19px;margin:28px 0 10px;border-left:5px solid #8b1a1a;padding-left:10px}h3{font-size:16px;margin:0}
.meta{color:#666;font-size:13px}.ok,.bad{padding:12px 16px;border-radius:6px;margin:8px 0}
.ok{background:#e8f4ea;border:1px solid #7fb88a}.bad{background:#fbeaea;border:1px solid #d17b7b}
.badge{display:inline-block;padding:1px 10px;border-radius:10px;color:#fff;font-weight:bold;margin-right:8px}
.ok .badge{background:#2e7d32}.bad .badge{background:#b3261e}
table{border-collapse:collapse;width:100%;margin:6px 0 4px}
th,td{border:1px solid #ddd;padding:4px 7px;vertical-align:top;text-align:left}
th{background:#f3efe6;font-weight:600;white-space:nowrap}
code,.hash{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:11px;color:#555;word-break:break-all}
.item{border:1px solid #ddd;border-radius:6px;margin:14px 0;padding:10px 14px;break-inside:avoid}
.item.flag{border-color:#d17b7b;background:#fffafa}.problems{color:#b3261e;margin:6px 0}
tr.flag td{background:#fbeaea}.red{color:#b3261e}.small{font-size:12px;color:#666}.nowrap{white-space:nowrap}
.flows{display:flex;flex-wrap:wrap;gap:14px 28px;align-items:flex-start}
.flow{border:1px solid #e5e0d5;border-radius:6px;padding:8px 10px}
svg{display:block;margin:6px auto 4px;max-width:100%;height:auto}
"""


def _layout(wf: dict) -> dict:
    """Rows by distance from the initial state (breadth first; unreached states last), the states
    of a row side by side, each row centred: state -> (x, y) of its box."""
    ids = [s["id"] for s in wf["states"]]
    depth, queue = ({wf["initial"]: 0}, [wf["initial"]]) if wf["initial"] in ids else ({}, [])
    for state in queue:  # grows while it is walked
        for t in wf["transitions"]:
            if state in t["from"] and t["to"] in ids and t["to"] not in depth:
                depth[t["to"]] = depth[state] + 1
                queue.append(t["to"])
    rows: dict = {}
    for state in ids:
        rows.setdefault(depth.get(state, len(ids)), []).append(state)
    widest = max(map(len, rows.values()), default=0)
    return {state: (PAD + (widest - len(rows[row])) * (BOX_W + GAP_X) / 2 + index * (BOX_W + GAP_X),
                    PAD + number * (BOX_H + GAP_Y))
            for number, row in enumerate(sorted(rows)) for index, state in enumerate(rows[row])}


def _edge_end(cx, cy, dx, dy) -> tuple[float, float]:
    scale = min((BOX_W / 2 + 3) / abs(dx) if dx else math.inf, (BOX_H / 2 + 3) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def diagram(wf: dict) -> str:
    """The workflow as an inline SVG: a rounded box per state with its title and item count, a
    straight arrow per pair of states a transition joins, labelled with the transitions' titles."""
    place = _layout(wf)
    if not place:
        return ""
    width = round(max(x for x, _ in place.values()) + BOX_W + PAD)
    height = round(max(y for _, y in place.values()) + BOX_H + PAD)
    edges: dict = {}
    for t in wf["transitions"]:
        for source in t["from"]:
            if t["to"] not in (None, source) and source in place and t["to"] in place:
                edges.setdefault((source, t["to"]), []).append(t["title"])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_h(wf["title"])}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>']
    labels = []
    for (source, target), titles in edges.items():
        (x1, y1), (x2, y2) = place[source], place[target]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1
        nx, ny = -dy / length, dx / length
        shift = 6 if (target, source) in edges else 0  # both directions: two parallel lines
        ox, oy = nx * shift, ny * shift
        ax, ay = _edge_end(x1 + BOX_W / 2, y1 + BOX_H / 2, dx, dy)
        bx, by = _edge_end(x2 + BOX_W / 2, y2 + BOX_H / 2, -dx, -dy)
        parts.append(f'<line x1="{ax + ox:.1f}" y1="{ay + oy:.1f}" x2="{bx + ox:.1f}" y2="{by + oy:.1f}" '
                     'stroke="#888" stroke-width="1.4" marker-end="url(#arrow)"/>')
        # the label beside its own line (on the side it is shifted to), above a sideways one
        if abs(dy) < 1:
            lx, ly, anchor = (ax + bx) / 2, (ay + by) / 2 + (-7 if dx > 0 else 15), "middle"
        else:
            at = 0.5 if abs(dx) < 1 else 0.62  # slanted: nearer the target, away from the vertical ones
            lx, ly, anchor = ax + (bx - ax) * at + nx * 9, ay + (by - ay) * at + 4, "start" if nx > 0 else "end"
        labels.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="{anchor}" fill="#555" '
                      f'stroke="#fff" stroke-width="3" paint-order="stroke">{_h("、".join(titles))}</text>')
    for state in wf["states"]:
        x, y = place[state["id"]]
        busy = state["count"] > 0
        fill, stroke = ("#fdf1dc", "#c98a1b") if busy else ("#f7f7f7", "#aaa")
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="12" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{3 if state["final"] else 1.5}"/>')
        parts.append(f'<text x="{x + BOX_W / 2}" y="{y + 23}" font-size="15" font-weight="bold" text-anchor="middle" '
                     f'fill="#222">{_h(state["title"])}</text>')
        parts.append(f'<text x="{x + BOX_W / 2}" y="{y + 43}" font-size="12" text-anchor="middle" fill="#666">'
                     f'{_h(state["id"])} · <tspan font-weight="bold" fill="{"#8b1a1a" if busy else "#888"}">'
                     f'{state["count"]} 件</tspan></text>')
    return "\n".join(parts + labels + ["</svg>"])


def _h(value) -> str:
    return escape(str(value))


def _when(text) -> str:
    return escape(str(text or "")[:19].replace("T", " "))


def _who(login, name) -> str:
    return f"{_h(name)}（{_h(login)}）" if name else _h(login)


def _event_row(e: dict, flagged: set) -> str:
    move = (f"{_h(e['from_title'])} → " if e["from"] else "→ ") + _h(e["to_title"])
    docs = "".join(f'<div>{_h(d.get("file"))}<br><span class="hash">sha256 {_h(d.get("sha256"))}'
                   "</span></div>" for d in e["documents"] if isinstance(d, dict))
    if isinstance(e["form"], dict):
        docs += (f'<div>回收审批单 {_h(e["form"].get("file"))}<br><span class="hash">sha256 '
                 f'{_h(e["form"].get("sha256"))}</span></div>')
    numbers = f"<div>{_h(e['numbers_text'])}</div>" if e["numbers_text"] else ""
    roles = "、".join(e["role_titles"]) if e["role_titles"] else str(e["roles"])
    changed = f'<div class="small">修改：{_h("、".join(map(str, e["changed"])))}</div>' if e["changed"] else ""
    return (f'<tr{" class=flag" if e["seq"] in flagged else ""}><td>{_h(e["seq"])}</td>'
            f'<td class="nowrap">{_when(e["time"])}</td><td>{_who(e["actor"], e["actor_name"])}'
            f'<div class="small">{_h(roles)}</div></td><td>{_h(e["transition_title"])}'
            f'<div class="small">{_h(e["transition"])}</div></td><td>{move}</td>'
            f'<td>{_h(e["comment"] or "")}{numbers}{changed}</td><td>{docs}</td>'
            f'<td class="nowrap"><span class="hash" title="{_h(e["hash"])}">{_h(str(e["hash"])[:12])}…'
            '</span></td></tr>')


def to_html(data: dict) -> str:
    v, r = data["verify"], data["replay"]
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
           f'<title>{_h(data["title"])}</title><style>{CSS}</style></head><body><main>',
           f'<h1>审计报告</h1><div class="meta">{_h(data["title"])} · 生成时间 {_when(data["generated_at"])} · '
           f'{v["events"]} 个事件，{v["items"]} 件事项，{v["blobs"]} 份存档文件</div>', '<h2>校验结果</h2>']
    out.append(f'<div class="{"ok" if v["ok"] else "bad"}"><span class="badge">{"通过" if v["ok"] else "未通过"}</span>'
               + ("哈希链、每个事件、每件事项的状态和每份存档文件均与记录一致。" if v["ok"] else
                  f'发现 {len(v["problems"])} 处问题：记录在写入之后被改动过。')
               + f'<div class="small">Merkle 根 <code>{_h(v["root"])}</code></div>')
    if v["problems"]:
        out.append("<table><tr><th>问题</th><th>事项</th><th>事件</th><th>说明</th></tr>" + "".join(
            f'<tr><td>{_h(KINDS.get(p["kind"], p["kind"]))}<div class="small">{_h(p["kind"])}</div></td>'
            f'<td>{_h(p.get("item", "—"))}</td><td>{_h(p.get("seq", "—"))}</td><td>{_h(p["message"])}</td></tr>'
            for p in v["problems"]) + "</table>")
    out += [f'<div class="small">注：{_h(NOTES.get(n, n))}</div>' for n in v["notes"]] + ["</div>"]
    out.append(f'<h2>回放结果</h2><div class="{"ok" if r["ok"] else "bad"}"><span class="badge">'
               f'{"无异常" if r["ok"] else "有异常"}</span>按各事项固定的流程定义版本重放 {r["events"]} 个事件'
               + ("，每一步都是流程允许的操作，重放所得状态与记录一致。" if r["ok"] else "：")
               + "".join(f'<div>{_h(a.get("item", "—"))}'
                         + (f' 事件 {_h(a["seq"])}' if "seq" in a else "") + f'：{_h(a["problem"])}</div>'
                         for a in r["anomalies"]) + "</div>")
    out.append("<h2>事项一览</h2><table><tr><th>编号</th><th>标题</th><th>流程</th><th>当前状态</th><th>事件数</th>"
               "<th>最后操作</th><th>核查</th></tr>")
    for item in data["items"]:
        last = item["events"][-1] if item["events"] else None
        out.append(f'<tr{" class=flag" if item["problems"] else ""}><td class="nowrap"><a href="#item-'
                   f'{_h(item["key"])}">{_h(item["key"])}</a></td><td>{_h(item["title"])}</td>'
                   f'<td>{_h(item["workflow_title"])}</td><td>{_h(item["state_title"])}</td>'
                   f'<td>{len(item["events"])}</td><td class="nowrap">'
                   + (f'{_who(last["actor"], last["actor_name"])} {_when(last["time"])}' if last else "—")
                   + f'</td><td>{"<b class=red>有问题</b>" if item["problems"] else "正常"}</td></tr>')
    out.append("</table>")
    out.append('<h2>流程与状态分布</h2><div class="small">方框为流程状态，框内为当前处于该状态的事项数；'
               '粗框为办结状态；箭头为流程允许的操作。</div><div class="flows">')
    for wf in data["workflows"]:
        out.append(f'<div class="flow"><h3>{_h(wf["title"])} <span class="small">{_h(wf["id"])} · '
                   f'{wf["items"]} 件 · 定义版本 <code>{_h(wf["version"][:12])}</code></span></h3>{diagram(wf)}</div>')
    out.append("</div><h2>事项时间线</h2>")
    for item in data["items"]:
        flagged = {p["seq"] for p in item["problems"] if p["seq"] is not None}
        numbers = item["numbers_text"]
        out.append(f'<section class="item{" flag" if item["problems"] else ""}" id="item-{_h(item["key"])}">'
                   f'<h3>{_h(item["key"])}　{_h(item["title"])}</h3><div class="meta">'
                   f'{_h(item["workflow_title"])} · 当前状态：{_h(item["state_title"])} · 创建人 '
                   f'{_who(item["creator"], item["creator_name"])} · 创建于 {_when(item["created_at"])}'
                   + (f" · {_h(numbers)}" if numbers else "") + "</div>"
                   + "".join(f'<div class="problems">⚠ {_h(KINDS.get(p["kind"], p["kind"]))}'
                             + (f'（事件 {_h(p["seq"])}）' if p["seq"] is not None else "") + f'：{_h(p["message"])}</div>'
                             for p in item["problems"])
                   + "<table><tr><th>#</th><th>时间</th><th>操作人</th><th>操作</th><th>状态变化</th><th>意见</th>"
                   "<th>文件（sha256）</th><th>事件哈希</th></tr>"
                   + "".join(_event_row(e, flagged) for e in item["events"]) + "</table></section>")
    out.append('<p class="small">核对方法：把 <code>gongwen audit checkpoint</code> 打印的一行保存在系统之外；'
               "日后 <code>gongwen audit verify --checkpoint 该行</code> 可证明日志只增未改。本报告为单个 HTML 文件，"
               "不含脚本，不引用外部资源。</p></main></body></html>")
    return "\n".join(out)


FORMATS = {"csv": to_csv, "json": to_json, "html": to_html}


def export(workspace, fmt: str, checkpoint: tuple[int, str] | None = None) -> tuple[str, dict]:
    data = collect(workspace, checkpoint)
    return FORMATS[fmt](data), data
