"""Making one item inside a unit of work of Engine.create_many: its fields from the values given
(each parsed by its field), the `--set` pairs and, for a school's user, their school; its key; the
signed create event; and what follows automatically."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from workflow.definition.fields import apply_sets
from workflow.definition.model import CREATE, Definition
from workflow.engine import edits, numbers, views
from workflow.errors import BadInput
from workflow.i18n import Msg
from workflow.store.orm import Item

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from workflow.documents.produce import Rendered
    from workflow.engine.engine import Engine
    from workflow.engine.guards import Actor
    from workflow.identity.keys import Signer


def create_one(engine: Engine, session: Session, signer: Signer, definition: Definition, actor: Actor,
               now: dt.datetime, out: Rendered, title: str | None, values: dict[str, Any],
               sets: Sequence[tuple[str, Any]], comment: str) -> views.ItemView:
    fields = {name: f.default for name, f in definition.fields.items() if f.default is not None}
    for name, value in (values or {}).items():
        fields[name] = parse_top(definition, name, value)
    fields = apply_sets(fields, definition.fields, sets)
    for role, name in definition.role_units.items():  # a school's user applies for their school
        if role in actor.roles and actor.unit and fields.get(name) in (None, ""):
            fields[name] = definition.fields[name].parse(actor.unit)
    edits.check_unit(definition, CREATE, actor, fields)
    fields = {n: fields[n] for n in definition.fields if n in fields}  # schema order
    if title and "title" in definition.fields:
        fields["title"] = definition.fields["title"].parse(title)
    item_title = title or definition.title_for(fields)
    item = Item(key=numbers.item_key(session, definition.key_prefix, now.year),
                workflow_id=definition.id, definition_hash=definition.hash,
                state=definition.initial, title=str(item_title), fields=fields, numbers={},
                creator=actor.login, created_at=now.isoformat(), updated_at=now.isoformat(),
                updated_by=actor.login, version=1)
    session.add(item)
    session.flush()
    changes = {k: [None, v] for k, v in fields.items()}
    engine._append_event(session, signer, item, definition, CREATE, None, actor, comment, changes, {}, now)
    engine._run_automatic(session, signer, item, definition, actor, now, out)
    return engine._view(session, item, definition, actor, now)


def parse_top(definition: Definition, name: str, value: Any) -> Any:
    spec = definition.fields.get(name)
    if spec is None:
        raise BadInput(Msg("unknown field {name!r} in {workflow} (fields: {fields})", name=name, workflow=definition.id,
                           fields=", ".join(definition.fields)))
    return spec.parse(value)
