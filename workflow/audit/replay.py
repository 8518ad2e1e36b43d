"""Replay: rebuild every item's state from its events through the definition version it is
pinned to; report each event the definition would not have allowed and each item whose stored
state differs; the states of all items at a moment; re-render documents and compare hashes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.audit import cosign, eventlog, signing, timers
from workflow.definition.model import COUNTERSIGN, CREATE, MIGRATE, Definition
from workflow.engine import registry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.store.workspace import Workspace


@dataclass(frozen=True)
class Anomaly:
    """Something the pinned definition would not have allowed, or a stored item state that the
    events do not give. seq is None for an item's own state; transition and document are given
    for a refused transition and for a document that does not re-render."""
    item: str
    problem: str
    seq: int | None = None
    transition: str | None = None
    document: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As `audit replay --json` prints it: the item always, then what is known."""
        found: dict[str, Any] = {"item": self.item}
        found.update((k, v) for k, v in (("seq", self.seq), ("transition", self.transition),
                                         ("document", self.document)) if v is not None)
        found["problem"] = self.problem
        return found


@dataclass
class ReplayReport:
    events: int = 0
    items: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {"workflow", "state", "since"} (--at)
    documents: int = 0
    rerendered: int = 0

    @property
    def ok(self) -> bool:
        return not self.anomalies

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "items": self.items,
                "anomalies": [a.to_json() for a in self.anomalies], "states": self.states,
                "documents": self.documents, "rerendered": self.rerendered}


def _moment(text: str, tz: dt.tzinfo) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def replay(workspace: Workspace, at: str | None = None, item_key: str | None = None,
           rerender: bool = False) -> ReplayReport:
    from workflow.errors import BadInput

    db, report = workspace.db, ReplayReport()
    try:
        limit = _moment(at, workspace.timezone) if at else None
    except ValueError:
        raise BadInput(f"--at {at!r} is not an ISO date-time (e.g. 2025-03-10T09:30 or 2025-03-10)") from None
    with db.read() as session:
        items = {row[0]: row for row in session.connection().exec_driver_sql(
            "SELECT id, key, workflow_id, definition_hash, state FROM items ORDER BY id")}
        definitions = {h: registry.pinned(session, h) for h in {row[3] for row in items.values()}}
        where, params = ("WHERE item_key = ?", (item_key,)) if item_key else ("", ())
        if item_key and db.engine.dialect.paramstyle != "qmark":
            where = "WHERE item_key = %s"
        progress: dict[int, dict[str, Any]] = {}
        role_lists: dict[Any, list[str]] = {}  # the stored text of actor_roles -> the list (few distinct values)
        for row in eventlog.event_rows(session.connection(), where, params):
            (event_id, item_id, key, seq, transition, from_state, to_state, actor, roles, _comment, changes,
             data, time, event_definition, _prev, _hash) = row
            if limit is not None:
                try:
                    if _moment(time, workspace.timezone) > limit:
                        continue
                except (TypeError, ValueError):
                    report.anomalies.append(Anomaly(key, f"the event's time {time!r} is not a date-time", seq))
                    continue
            report.events += 1
            if item_id is None:  # a user, role or key event, or an upgrade (@users): verify folds them
                continue
            item = items.get(item_id)
            track = progress.setdefault(item_id, {"state": None, "actors": {}, "key": key, "time": None,
                                                  "version": item[3] if item else None})
            if item is None:
                report.anomalies.append(Anomaly(key, "the event's item is not in the database", seq))
                continue
            held = role_lists.get(roles)
            if held is None:
                held = role_lists[roles] = [r for r in _loads(roles, list) or [] if isinstance(r, str)]
            principal = _principal(data)  # acting under a delegation (委托): separation of duties for both
            if transition == MIGRATE:  # the item moves to another version: checked against both
                problem = _migration(session, definitions, track, event_definition, from_state, to_state, held,
                                     _loads(data, dict) or {})
            else:  # each event through the version it was written under (the item's, unless migrated since)
                version = track["version"] if track["state"] is not None else event_definition
                definition = _version_of(session, definitions, version)
                if definition is None:
                    report.anomalies.append(Anomaly(key, f"the definition version {str(version)[:12]} is gone", seq))
                    continue
                track["version"] = version
                if transition == COUNTERSIGN:  # one countersigner's opinion (会签)
                    problem = cosign.opinion(definition, track, from_state, to_state, actor, held, data)
                else:
                    problem = _check(definition, track, transition, from_state, to_state, actor, held, principal)
                    problem = cosign.step(definition, track, transition, from_state, to_state, data, seq) or problem
                    problem = signing.step(definition, track, transition, to_state, changes, data) or problem
            if problem:
                report.anomalies.append(Anomaly(key, problem, seq, transition))
            track["state"], track["time"] = to_state, time
            track["actors"].setdefault(transition, set()).add(actor)
            if principal:
                track["actors"][transition].add(principal)
            if rerender and isinstance(data, str) and '"documents"' in data:
                _rerender(session, report, key, seq, _loads(data, dict) or {})
        for item_id, (_, key, workflow_id, _definition, state) in items.items():
            if item_key and key != item_key:
                continue
            report.items += 1
            final = progress.get(item_id)
            if limit is not None:
                report.states[key] = {"workflow": workflow_id,
                                      "state": final["state"] if final else None,
                                      "since": final["time"] if final else None}
            elif final is None:
                report.anomalies.append(Anomaly(key, "the item has no events"))
            elif final["state"] != state:
                report.anomalies.append(Anomaly(key, f"stored state {state!r} differs from the replayed state "
                                                     f"{final['state']!r}"))
    return report


def _version_of(session: Session, known: dict[str, Any], version: Any) -> Definition | None:
    if version not in known:
        from workflow.errors import GongwenError

        try:
            known[version] = registry.pinned(session, str(version))
        except GongwenError:
            known[version] = None
    found: Definition | None = known[version]
    return found


def _migration(session: Session, known: dict[str, Any], track: dict[str, Any], version: Any, from_state: Any,
               to_state: Any, roles: list[str], data: dict[str, Any]) -> str | None:
    """A migration event: by an admin, from the version and state the item was in, to a state of
    the version it names (which the item's later events follow)."""
    found = data.get("migration")
    moved: dict[str, Any] = found if isinstance(found, dict) else {}
    target = _version_of(session, known, version)
    if "admin" not in roles:
        return "a migration by someone who is not an admin"
    if moved.get("from") != track["version"] or moved.get("to") != version or target is None:
        return f"a migration that does not start from the item's version {str(track['version'])[:12]}"
    if from_state != track["state"] or to_state not in target.states:
        return f"a migration from {from_state!r} to {to_state!r}, which the versions do not allow"
    track["version"] = version
    return None


def _loads(text: Any, kind: type) -> Any:
    """A JSON column's value if it is readable and of the expected kind, else None (tampered)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, kind) else None


def _principal(data: Any) -> str | None:
    """The principal an event names acting under a delegation, if any."""
    if not (isinstance(data, str) and '"delegation":{' in data):
        return None
    found = (_loads(data, dict) or {}).get("delegation")
    return str(found.get("principal")) if isinstance(found, dict) else None


def _check(definition: Definition, track: dict[str, Any], transition: str, from_state: str | None, to_state: str,
           actor: str, roles: list[str], principal: str | None = None) -> str | None:
    """What the definition would have refused in this event, or None."""
    system = timers.replay_check(definition, transition, track["state"], from_state, to_state, actor)
    if system is not None:  # "" : a 催办/督办 event in order (no transition of the definition)
        return system or None
    if transition == CREATE:
        if track["state"] is not None:
            return "a second creation event"
        if to_state != definition.initial:
            return f"created in {to_state!r}, not in the initial state {definition.initial!r}"
        return None
    tr = definition.transitions.get(transition)
    state = track["state"]
    if tr is None:
        return f"{definition.id} has no transition {transition!r}"
    if from_state != state:
        return f"the event starts from {from_state!r} but the item was in {state!r}"
    if state not in tr.sources:
        return f"{transition} is not an exit of {state!r}"
    if to_state != tr.target_from(state):
        return f"{transition} leads to {tr.target_from(state)!r}, not {to_state!r}"
    if tr.roles and not set(tr.roles) & set(roles):
        return f"{actor} held {roles}, none of the roles {tr.roles} that {transition} needs"
    for earlier in tr.distinct_from:
        for who in filter(None, (actor, principal)):
            if who in (track["actors"].get(earlier) or ()):
                return f"separation of duties: {who} also did {earlier}" + (f" ({actor} acting for {principal})"
                                                                               if principal else "")
    return None


def _rerender(session: Session, report: ReplayReport, key: str, seq: int, data: dict[str, Any]) -> None:
    import hashlib

    from workflow.documents.renderer import compile_template
    from workflow.store.blobs import load_blob, load_context

    for doc in data.get("documents") or []:
        if not isinstance(doc, dict):
            continue
        report.documents += 1
        file = doc.get("file")
        template = load_blob(session, doc["template_sha256"]) if isinstance(doc.get("template_sha256"), str) else None
        context = load_context(session, doc["context_sha256"]) if isinstance(doc.get("context_sha256"), str) else None
        if template is None or context is None:
            report.anomalies.append(Anomaly(key, "the template or context to re-render it is missing", seq,
                                            document=file))
            continue
        try:
            rendered = compile_template(template, str(doc.get("template"))).render(context)
        except Exception as exc:  # a template that no longer renders is an anomaly to report
            report.anomalies.append(Anomaly(key, f"re-rendering failed: {getattr(exc, 'message', exc)}", seq,
                                            document=file))
            continue
        if hashlib.sha256(rendered).hexdigest() != doc.get("sha256"):
            report.anomalies.append(Anomaly(key, "re-rendered bytes differ from the stored document's sha256", seq,
                                            document=file))
        else:
            report.rerendered += 1
