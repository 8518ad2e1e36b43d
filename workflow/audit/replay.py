"""Replay: rebuild every item's state from its events through the definition version it is
pinned to; report each event the definition would not have allowed and each item whose stored
state differs; the states of all items at a moment; re-render documents and compare hashes."""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.audit import attachments, cosign, eventlog, signing, timers
from workflow.audit.signing import UNCHANGED
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


# What replay reads of each event, in this order (not the hashes or the comment: verify's part)
REPLAY_COLUMNS = ("item_id, item_key, seq, transition, from_state, to_state, actor, actor_roles, changes, {data}, "
                  "time, definition_hash")


class _Marks:
    """The texts replay looks for in an event's data before parsing it, as the driver gives the
    column: bytes on SQLite (read as a BLOB: never decoded unless parsed), else str."""

    def __init__(self, raw: bool) -> None:
        def mark(text: str) -> Any:
            return text.encode() if raw else text

        self.delegation: Any = mark('"delegation":{')
        self.documents: Any = mark('"documents"')
        self.kind: type = bytes if raw else str


def replay(workspace: Workspace, at: str | None = None, item_key: str | None = None,
           rerender: bool = False) -> ReplayReport:
    from workflow.errors import BadInput

    db, report = workspace.db, ReplayReport()
    try:
        limit = _moment(at, workspace.timezone) if at else None
    except ValueError:
        raise BadInput(f"--at {at!r} is not an ISO date-time (e.g. 2025-03-10T09:30 or 2025-03-10)") from None
    with db.read() as session:
        connection = session.connection()
        dbapi: Any = connection.connection.driver_connection
        cursor = dbapi.cursor()  # DB-API rows: no Result row for each
        try:
            cursor.execute("SELECT id, key, workflow_id, definition_hash, state FROM items ORDER BY id")
            items = {row[0]: row for row in cursor.fetchall()}
        finally:
            cursor.close()
        definitions = {h: registry.pinned(session, h) for h in {row[3] for row in items.values()}}
        where, params = ("WHERE item_key = ?", (item_key,)) if item_key else ("", ())
        raw = connection.dialect.name == "sqlite"
        batches = eventlog.event_batches(connection, where, params,
                                         columns=REPLAY_COLUMNS.format(data="CAST(data AS BLOB)" if raw else "data"))
        progress: dict[int, dict[str, Any]] = {}
        collecting = gc.isenabled()
        gc.disable()  # the loop keeps what it makes (a track per item) and makes no cycles: nothing to collect
        try:
            _replay_events(session, report, batches, items, definitions, progress, limit, workspace.timezone,
                           rerender, _Marks(raw))
        finally:
            if collecting:
                gc.enable()
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


def _replay_events(session: Session, report: ReplayReport, batches: Iterable[list[Any]], items: dict[Any, Any],
                   definitions: dict[str, Any], progress: dict[int, dict[str, Any]], limit: dt.datetime | None,
                   tz: dt.tzinfo, rerender: bool, marks: _Marks) -> None:
    """Each event, in log order, into its item's track (progress: item id -> track). The checks
    that depend only on the event and the state it starts from are made once for each distinct
    (version, transition, state, from, to, actor, roles) and remembered; separation of duties, 会签
    and 签发 depend on the item's history and are checked for each event."""
    anomalies = report.anomalies
    role_lists: dict[Any, list[str]] = {}  # the stored text of actor_roles -> the list (few distinct values)
    versions: dict[Any, Definition | None] = {}  # version -> its definition (None: gone)
    static: dict[tuple, tuple[str | None, Any, bool, bool]] = {}  # see _static_entry
    missing: set[Any] = set()  # item ids the items table does not have
    delegation, documents = marks.delegation, marks.documents
    data_kind: Any = marks.kind
    events = 0
    for rows in batches:
        for (item_id, key, seq, transition, from_state, to_state, actor, roles, changes, data, time,
             event_definition) in rows:
            if limit is not None:
                try:
                    if _moment(time, tz) > limit:
                        continue
                except (TypeError, ValueError):
                    anomalies.append(Anomaly(key, f"the event's time {time!r} is not a date-time", seq))
                    continue
            events += 1
            if item_id is None:  # a user, role or key event, or an upgrade (@users): verify folds them
                continue
            track = progress.get(item_id)
            if track is None:
                item = items.get(item_id)
                track = progress[item_id] = {"state": None, "actors": {}, "key": key, "time": None,
                                             "version": item[3] if item else None}
                if item is None:
                    missing.add(item_id)
            if missing and item_id in missing:
                anomalies.append(Anomaly(key, "the event's item is not in the database", seq))
                continue
            held = role_lists.get(roles)
            if held is None:
                held = role_lists[roles] = [r for r in _loads(roles, list) or [] if isinstance(r, str)]
            # acting under a delegation (委托): separation of duties for both
            principal = _principal(data) if data.__class__ is data_kind and delegation in data else None
            state = track["state"]
            if transition == MIGRATE:  # the item moves to another version: checked against both
                problem = _migration(session, definitions, track, event_definition, from_state, to_state, held,
                                     _loads(data, dict) or {})
            else:  # each event through the version it was written under (the item's, unless migrated since)
                version = track["version"] if state is not None else event_definition
                try:
                    definition = versions[version]
                except KeyError:
                    definition = versions[version] = _version_of(session, definitions, version)
                if definition is None:
                    anomalies.append(Anomaly(key, f"the definition version {str(version)[:12]} is gone", seq))
                    continue
                track["version"] = version
                if transition == COUNTERSIGN:  # one countersigner's opinion (会签)
                    problem = cosign.opinion(definition, track, from_state, to_state, actor, held, data)
                elif transition in attachments.ENGINE_EVENTS:  # 附件, 作废: the engine's, no definition's
                    problem = attachments.replay_check(definition, state, transition, from_state, to_state, actor, held)
                else:
                    checked = static.get((version, transition, state, from_state, to_state, actor, roles))
                    if checked is None:
                        checked = static[(version, transition, state, from_state, to_state, actor, roles)] = (
                            _static_entry(definition, transition, state, from_state, to_state, actor, held))
                    problem, distinct, cosigns, signs = checked
                    if distinct:
                        problem = _distinct(track, distinct, actor, principal)
                    if cosigns:  # it decides a 会签 or enters a 会签 state
                        problem = cosign.step(definition, track, transition, from_state, to_state, data, seq) or problem
                    elif from_state != to_state:  # all cosign.step does then: a round left open closes
                        track["countersign"] = None
                    # signing.step has nothing to do for an event that is no 签发 (or reopen) and changes
                    # no field, before the item is signed (and a reopen is owed only once it is)
                    if signs or (definition.signing is not None
                                 and (changes not in UNCHANGED or track.get("signed") is not None)):
                        problem = signing.step(definition, track, transition, to_state, changes, data) or problem
            if problem:
                anomalies.append(Anomaly(key, problem, seq, transition))
            track["state"], track["time"] = to_state, time
            done = track["actors"].get(transition)
            if done is None:
                done = track["actors"][transition] = set()
            done.add(actor)
            if principal:
                done.add(principal)
            if rerender and data.__class__ is data_kind and documents in data:
                _rerender(session, report, key, seq, _loads(data, dict) or {})
    report.events += events


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
    if not (isinstance(data, str) and '"delegation":{' in data
            or isinstance(data, bytes) and b'"delegation":{' in data):
        return None
    found = (_loads(data, dict) or {}).get("delegation")
    return str(found.get("principal")) if isinstance(found, dict) else None


def _check(definition: Definition, track: dict[str, Any], transition: str, from_state: str | None, to_state: str,
           actor: str, roles: list[str], principal: str | None = None) -> str | None:
    """What the definition would have refused in this event, or None."""
    problem, distinct = _static(definition, transition, track["state"], from_state, to_state, actor, roles)
    return _distinct(track, distinct, actor, principal) if distinct else problem


def _static(definition: Definition, transition: str, state: Any, from_state: str | None, to_state: str,
            actor: str, roles: list[str]) -> tuple[str | None, Any]:
    """What the definition would have refused in this event given only the item's state (problem
    or None), and, when that is None, the transitions it must be distinct from (separation of
    duties: the item's history decides, _distinct)."""
    system = timers.replay_check(definition, transition, state, from_state, to_state, actor)
    if system is not None:  # "" : a 催办/督办 event in order (no transition of the definition)
        return system or None, ()
    if transition == CREATE:
        if state is not None:
            return "a second creation event", ()
        if to_state != definition.initial:
            return f"created in {to_state!r}, not in the initial state {definition.initial!r}", ()
        return None, ()
    tr = definition.transitions.get(transition)
    if tr is None:
        return f"{definition.id} has no transition {transition!r}", ()
    if from_state != state:
        return f"the event starts from {from_state!r} but the item was in {state!r}", ()
    if state not in tr.sources:
        return f"{transition} is not an exit of {state!r}", ()
    if to_state != tr.target_from(state):
        return f"{transition} leads to {tr.target_from(state)!r}, not {to_state!r}", ()
    if tr.roles and not set(tr.roles) & set(roles):
        return f"{actor} held {roles}, none of the roles {tr.roles} that {transition} needs", ()
    return None, tuple(tr.distinct_from)


def _static_entry(definition: Definition, transition: str, state: Any, from_state: str | None, to_state: str,
                  actor: str, roles: list[str]) -> tuple[str | None, Any, bool, bool]:
    """_static; whether cosign.step has a 会签 to check or open (the transition decides one, or the
    event enters a 会签 state); whether the event is the 签发 or its reopen (signing.step records it)."""
    tr = definition.transitions.get(transition)
    entered = definition.states.get(to_state) if from_state != to_state else None
    cosigns = (tr is not None and bool(tr.outcome_of)) or (entered is not None and entered.countersign is not None)
    signs = definition.signing is not None and transition in (definition.signing.transition, definition.signing.reopen)
    return (*_static(definition, transition, state, from_state, to_state, actor, roles), cosigns, signs)


def _distinct(track: dict[str, Any], distinct_from: tuple[str, ...], actor: str, principal: str | None) -> str | None:
    """Separation of duties: neither the actor nor the principal did any of `distinct_from` before."""
    actors = track["actors"]
    for earlier in distinct_from:
        for who in filter(None, (actor, principal)):
            if who in (actors.get(earlier) or ()):
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
