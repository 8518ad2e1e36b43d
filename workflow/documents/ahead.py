"""Documents rendered ahead of the write lock (engine/prepare.py): the transition's templates are
rendered in a read transaction from the context the write will build; under the lock,
render_transition takes the bytes when the context it builds is the same (by its sha256), else
renders them again. Rendering is deterministic (replay re-renders byte for byte), so the bytes
taken are the bytes it would render."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.canonical import canonical_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.definition.model import Definition, Transition
    from workflow.store.orm import Item
    from workflow.store.workspace import Workspace


def context_key(context: dict[str, Any], always: bool = False) -> str:
    """The sha256 of a render context ("" when nothing waits to be taken, unless `always`)."""
    return hashlib.sha256(canonical_json(context)).hexdigest() if always or _PRERENDERED else ""


# by (template sha256, context sha256, and revision and seq for an approval form)
_PRERENDERED: dict[tuple[str, str, int, int], tuple[bytes, dict[str, Any] | None]] = {}
_PRERENDERED_MAX = 64


def render(compiled: Any, context: dict[str, Any], context_key: str, template_sha: str, secret: Any,
            item: Item, revision: int, seq: int, tr: Transition, name: str) -> tuple[bytes, dict[str, Any] | None]:
    """A template's bytes (and, for the approval form, the context it was rendered from)."""
    form = tr.form is not None and name == tr.form.template
    found = _PRERENDERED.pop((template_sha, context_key, revision if form else 0, seq if form else 0), None)
    if found is not None:
        return found
    if form:
        from workflow.documents.formtoken import render_form

        assert tr.form is not None
        return render_form(compiled, context, secret(), item.key, revision, seq, tr.form)
    return compiled.render(context), None


def prerender(session: Session, workspace: Workspace, definition: Definition, item: Item, tr: Transition, seq: int,
              context: dict[str, Any], revision: int, template_path: Callable[[str], Path]) -> None:
    """Render the transition's templates now, for render_transition to take (same context only);
    `template_path(name)`: where the workflow's template is (produce.template_path)."""
    from workflow.documents.renderer import MAX_TEMPLATE_BYTES, compile_template
    from workflow.inputs import read_regular_file

    key = context_key(context, always=True)
    if len(_PRERENDERED) > _PRERENDERED_MAX:
        _PRERENDERED.clear()
    for name in tr.templates:
        template_bytes = read_regular_file(template_path(name), MAX_TEMPLATE_BYTES,
                                           label=f"{definition.id}/{name}")
        compiled = compile_template(template_bytes, f"{definition.id}/{name}")
        template_sha = hashlib.sha256(template_bytes).hexdigest()
        form = tr.form is not None and name == tr.form.template
        done = render(compiled, context, key, template_sha, lambda: workspace.form_secret_in(session),
                       item, revision, seq, tr, name)
        _PRERENDERED[(template_sha, key, revision if form else 0, seq if form else 0)] = done


