"""What a transition may change and in whose name: field edits (a list field editable only in
some sub-fields: `findings.status`), the unit a school's user acts for, the 签发 body's hash, and
the issuer of a step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflow.canonical import canonical_hash
from workflow.definition import procedure
from workflow.definition.fields import apply_sets
from workflow.definition.model import Definition, Transition
from workflow.engine import guards
from workflow.engine.guards import Actor
from workflow.errors import Refused
from workflow.i18n import Msg, Named
from workflow.store.orm import Event, Item


def apply(definition: Definition, item: Item, tr: Transition, sets: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """The item's fields after `sets`, refused (field_locked) for a field the state and the
    transition do not open; a sub-field path opens only that sub-field of the rows already there."""
    editable = definition.editable_in(item.state, tr)
    partly: dict[str, set[str]] = {}
    for entry in editable:
        top, _, sub = entry.partition(".")
        if sub:
            partly.setdefault(top, set()).add(sub)
    where = Msg("in {state}", state=Named.of(item.state, definition.state_title(item.state)))
    for path, _ in sets:
        name = path.partition(".")[0]
        if name in definition.fields and name not in editable and name not in partly:
            raise Refused(Msg("{transition}: {name}（{label}）cannot be changed {where}",
                              transition=Named.of(tr.id, tr.title), name=name, label=definition.fields[name].label,
                              where=where), reason="field_locked", transition=tr.id, fields=[name])
    fields = apply_sets(dict(item.fields), definition.fields, sets)
    for name, allowed in partly.items():
        if name in editable:
            continue
        outside = procedure.changed_outside(item.fields.get(name), fields.get(name), allowed)
        if outside:
            spec = definition.fields[name]
            opened = "、".join(spec.record[s].label for s in sorted(allowed) if s in spec.record)
            raise Refused(Msg("{transition}: in {name}（{label}）only {opened} can be changed {where} ({outside})",
                              transition=Named.of(tr.id, tr.title), name=name, label=spec.label, opened=opened,
                              where=where, outside=outside), reason="field_locked", transition=tr.id, fields=[name])
    return fields


def check_unit(definition: Definition, tr_id: str, actor: Actor, fields: dict[str, Any]) -> None:
    """A user of a unit acts only on that unit's items (guards.check looks at the item as it will
    be; this, at it as it is, and at a new item's fields)."""
    if refusal := guards.unit_refusal(definition, tr_id, actor, fields):
        raise refusal


def title_after(definition: Definition, title: str, fields: dict[str, Any], changed: set[str]) -> str:
    """The item's title once its fields are `fields` (`changed`: the names that changed)."""
    if changed and (title == definition.title_for(fields) or "title" in changed):
        return definition.title_for(fields)
    return title


def body_hash(definition: Definition, fields: dict[str, Any]) -> str | None:
    """The sha256 of the signed text's fields (the definition's signing body), or None."""
    if definition.signing is None:
        return None
    return canonical_hash({name: fields.get(name) for name in definition.signing.body})


def signed_hash(definition: Definition, events: Sequence[Event]) -> str | None:
    """The body hash the latest 签发 recorded, or None if the item was not signed (or a reopen
    has since sent it back to 签发)."""
    if definition.signing is None:
        return None
    for event in reversed(events):
        if event.transition == definition.signing.transition:
            found = (event.data or {}).get("body_sha256")
            return str(found) if found else None
        if event.transition == definition.signing.reopen:
            return None
    return None


def body_changed(definition: Definition, events: Sequence[Event], fields: dict[str, Any]) -> bool:
    signed = signed_hash(definition, events)
    return signed is not None and signed != body_hash(definition, fields)
