"""What the engine returns: one frozen dataclass per kind of result, built inside the read or
write transaction from the rows and the pinned definition, and safe to use after it closed.

Callers (commands, demo, ingest, tests) read attributes the type checker knows instead of
dict keys. `to_json()` is the shape `gongwen --json` prints: scripts parse it, so its keys,
their order and their values stay exactly what they were when the engine returned dicts.
Stored JSON (fields, numbers, an event's changes and data, document records) stays dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from workflow.definition.model import Definition, Transition
    from workflow.definition.model import Worklist as WorklistSpec
    from workflow.identity.keys import Registered
    from workflow.store.orm import Event, Item, User, UserKey

JSON = dict[str, Any]


@dataclass(frozen=True)
class UserView:
    login: str
    name: str
    title: str
    roles: tuple[str, ...]  # global roles, as granted
    key: str | None = None  # the fingerprint of the registered key, if any
    unit: str = ""  # 单位, for a user who acts for one unit only (a school)
    active: bool = True  # False once deactivated (gongwen users deactivate)

    def to_json(self) -> JSON:
        found = {"login": self.login, "name": self.name, "title": self.title, "roles": list(self.roles),
                 "key": self.key, "unit": self.unit}
        return found if self.active else {**found, "active": False}  # the usual user's output keeps its shape


@dataclass(frozen=True)
class ItemSummary:
    """One line of `gongwen list` and of a worklist."""

    id: int
    key: str
    workflow: str
    workflow_title: str
    title: str
    state: str
    state_title: str
    version: int
    creator: str
    updated_at: str
    updated_by: str
    numbers: dict[str, str]  # sequence id -> the number drawn (发文字号 ...)

    def to_json(self) -> JSON:
        return {"id": self.id, "key": self.key, "workflow": self.workflow, "workflow_title": self.workflow_title,
                "title": self.title, "state": self.state, "state_title": self.state_title,
                "version": self.version, "creator": self.creator, "updated_at": self.updated_at,
                "updated_by": self.updated_by, "numbers": dict(self.numbers)}


@dataclass(frozen=True)
class AllowedTransition:
    """A transition the viewing user may fire now (a missing comment or field aside)."""

    id: str
    title: str
    to: str
    to_title: str
    comment_required: bool

    def to_json(self) -> JSON:
        return {"id": self.id, "title": self.title, "to": self.to, "to_title": self.to_title,
                "comment_required": self.comment_required}


@dataclass(frozen=True)
class WorklistRef:
    """A worklist an item is on now."""

    id: str
    title: str

    def to_json(self) -> JSON:
        return {"id": self.id, "title": self.title}


@dataclass(frozen=True)
class EventView:
    """One event of an item's history. `from_state`/`to_state` are "from"/"to" in the JSON."""

    seq: int
    transition: str
    transition_title: str
    from_state: str | None  # None for the create event
    from_title: str | None
    to_state: str
    to_title: str
    actor: str
    roles: tuple[str, ...]  # the actor's roles on the item then (owner included)
    comment: str
    changes: dict[str, Any]  # field -> [before, after]
    data: dict[str, Any]  # numbers, documents, a returned form ...
    time: str
    definition_version: str
    hash: str
    signed_by: str | None = None  # whose registered key signed it (the actor, or who entered it for them)
    signature: str = "unsigned"  # valid, invalid, unknown_key or unsigned (an older release's event)
    entry: str | None = None  # a decision from a returned form: signed (on the form), self, or entered (代录)
    form_signature: str | None = None  # for a signed form: valid, invalid or unknown_key

    def to_json(self) -> JSON:
        return {"seq": self.seq, "transition": self.transition, "transition_title": self.transition_title,
                "from": self.from_state, "from_title": self.from_title, "to": self.to_state,
                "to_title": self.to_title, "actor": self.actor, "roles": list(self.roles),
                "comment": self.comment, "changes": self.changes, "data": self.data, "time": self.time,
                "definition_version": self.definition_version, "hash": self.hash,
                "signed_by": self.signed_by, "signature": self.signature, "entry": self.entry,
                "form_signature": self.form_signature}


@dataclass(frozen=True)
class ItemView(ItemSummary):
    """An item as one user sees it now: its fields, what they may do, the worklists it is on;
    `show` adds the history, `fire` the document files it wrote (neither is in the JSON
    otherwise)."""

    definition_version: str
    created_at: str
    fields: dict[str, Any]
    field_labels: dict[str, str]
    allowed: tuple[AllowedTransition, ...]
    worklists: tuple[WorklistRef, ...]
    history: tuple[EventView, ...] | None = None
    documents: tuple[str, ...] | None = None  # paths of the files written after commit
    warning: str | None = None  # recorded, but its files could not be written after commit
    countersign: dict[str, Any] | None = None  # an open 会签: each countersigner's opinion, or pending

    def to_json(self) -> JSON:
        data = super().to_json()
        data.update({"definition_version": self.definition_version, "created_at": self.created_at,
                     "fields": dict(self.fields), "field_labels": dict(self.field_labels),
                     "allowed": [a.to_json() for a in self.allowed],
                     "worklists": [w.to_json() for w in self.worklists]})
        if self.history is not None:
            data["history"] = [e.to_json() for e in self.history]
        if self.documents is not None:
            data["documents"] = list(self.documents)
        if self.warning:
            data["warning"] = self.warning
        if self.countersign is not None:
            data["countersign"] = self.countersign
        return data


@dataclass(frozen=True)
class ItemHistory:
    key: str
    workflow: str
    title: str
    state: str
    history: tuple[EventView, ...]

    def to_json(self) -> JSON:
        return {"key": self.key, "workflow": self.workflow, "title": self.title, "state": self.state,
                "history": [e.to_json() for e in self.history]}


@dataclass(frozen=True)
class ItemDocuments:
    """An item's documents and returned forms, oldest first; `blobs` (sha256 -> bytes) only
    when asked for, and never in the JSON."""

    key: str
    title: str
    documents: tuple[dict[str, Any], ...]  # the records stored in the events' data
    blobs: dict[str, bytes | None]

    def to_json(self) -> JSON:
        return {"key": self.key, "title": self.title, "documents": list(self.documents)}


@dataclass(frozen=True)
class Worklist:
    """A definition's worklist as one user sees it, with the items on it now."""

    workflow: str
    workflow_title: str
    worklist: str
    title: str
    items: tuple[ItemSummary, ...]  # all of them, or the first `limit` by id (reads.worklist)
    total: int | None = field(default=None, compare=False)  # how many are on it (None: len(items))

    @property
    def count(self) -> int:
        return len(self.items) if self.total is None else self.total

    def to_json(self) -> JSON:
        return {"workflow": self.workflow, "workflow_title": self.workflow_title, "worklist": self.worklist,
                "title": self.title, "total": self.count, "items": [i.to_json() for i in self.items]}


# -- building them from rows -------------------------------------------------------------------
def user_view(user: User, key: UserKey | None = None) -> UserView:
    return UserView(login=user.login, name=user.name, title=user.title, roles=tuple(user.role_names),
                    key=key.fingerprint if key is not None else None, unit=user.unit or "",
                    active=user.deactivated_event is None)


def _summary_fields(item: Item, definition: Definition) -> JSON:
    return {"id": item.id, "key": item.key, "workflow": item.workflow_id, "workflow_title": definition.title,
            "title": item.title, "state": item.state, "state_title": definition.state_title(item.state),
            "version": item.version, "creator": item.creator, "updated_at": item.updated_at,
            "updated_by": item.updated_by, "numbers": dict(item.numbers)}


def summary(item: Item, definition: Definition) -> ItemSummary:
    return ItemSummary(**_summary_fields(item, definition))


def item_view(item: Item, definition: Definition, allowed: Iterable[Transition],
              worklists: Iterable[WorklistSpec], countersign: JSON | None = None) -> ItemView:
    """The view of `item`, given the transitions the user may fire and the worklists it is on."""
    return ItemView(
        **_summary_fields(item, definition),
        definition_version=item.definition_hash, created_at=item.created_at, fields=dict(item.fields),
        field_labels={n: f.label for n, f in definition.fields.items()},
        allowed=tuple(AllowedTransition(id=t.id, title=t.title, to=t.target_from(item.state),
                                        to_title=definition.state_title(t.target_from(item.state)),
                                        comment_required=t.comment_required) for t in allowed),
        worklists=tuple(WorklistRef(id=wl.id, title=wl.title) for wl in worklists), countersign=countersign)


TITLES = {"create": "创建", "migrate": "迁移定义版本", "countersign": "会签意见",  # the events no definition declares
          "overdue": "催办", "escalate": "督办上报", "attach": "附件", "void": "作废"}


def event_view(event: Event, definition: Definition, keys: Registered | None = None) -> EventView:
    """`keys`: the registered keys (users.registered_keys), to say who signed and whether it verifies."""
    from workflow.identity.keys import signature_status

    tr = definition.transitions.get(event.transition)
    signed_by, status = signature_status(event.hash, event.signature, event.signer, keys or {})
    entry, form_signature = form_entry(event.data, event.actor, event.transition, event.comment, keys or {})
    title = tr.title if tr else TITLES.get(event.transition, event.transition)
    return EventView(
        seq=event.seq, transition=event.transition, transition_title=title,
        from_state=event.from_state,
        from_title=definition.state_title(event.from_state) if event.from_state else None,
        to_state=event.to_state, to_title=definition.state_title(event.to_state), actor=event.actor,
        roles=tuple(event.actor_roles), comment=event.comment, changes=event.changes, data=event.data,
        time=event.time, definition_version=event.definition_hash, hash=event.hash, signed_by=signed_by,
        signature=status, entry=entry, form_signature=form_signature)


def form_entry(data: Any, actor: str, transition: str, comment: str, keys: Registered) -> tuple[str | None, str | None]:
    """(how a decision from a returned form was authenticated, the status of the signature on the
    form when it was signed there) for an event's data; (None, None) for other events."""
    from workflow.identity import formsig

    form = data.get("form") if isinstance(data, dict) else None
    if not isinstance(form, dict):
        return None, None
    entry = str(form.get("auth") or ("entered" if form.get("ingested_by") not in (None, actor) else "self"))
    return entry, formsig.status(form, actor, transition, comment, keys) if entry == "signed" else None
