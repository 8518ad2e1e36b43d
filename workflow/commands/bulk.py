"""`gongwen do TRANSITION --all-from FILE | --where NAME=VALUE …`: one transition on many items,
each in its own transaction, with a progress bar on a terminal, and a report of which moved and
which were refused (and why). The exit code is the worst of the items' (0 when all moved)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from workflow.i18n import say

if TYPE_CHECKING:
    from workflow.commands.app import App


def do_many(app: App, transition: str, all_from: str | None, where: tuple[str, ...], comment: str,
            pairs: list[tuple[str, str]]) -> int:
    """Fire on every item named; print the report; the exit code."""
    from workflow.commands.progress import progress
    from workflow.engine import bulk

    if all_from is not None and where:
        raise click.UsageError("give --all-from or --where, not both")
    engine = app.engine
    if all_from is not None:
        keys = bulk.keys_from_file(Path(all_from))
    else:
        keys = bulk.keys_where(engine, app.login, [where_pair(text) for text in where])
    engine.keys.signer(app.login)  # no key: one line, before anything; a passphrase: asked before the bar
    with progress(app, transition, len(keys)) as advance:
        outcomes = bulk.fire_many(engine, app.login, keys, transition, comment, pairs, advance)
    moved = [o for o in outcomes if o.moved]
    refused = [o for o in outcomes if not o.moved]
    lines = [say("{key}: → {state}", key=o.key, state=o.state_title or o.state) for o in moved]
    lines += [say("{key}: refused ({reason}): {message}", key=o.key, reason=o.reason, message=o.message)
              for o in refused]
    lines.append(say("{moved} moved, {refused} refused, of {total}", moved=len(moved), refused=len(refused),
                     total=len(outcomes)))
    app.emit({"transition": transition, "moved": len(moved), "refused": len(refused),
              "items": [o.to_json() for o in outcomes]}, "\n".join(lines))
    return max((o.exit_code for o in outcomes), default=0)


def where_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise click.UsageError(say("--where needs NAME=VALUE, got {text!r}", text=text[:80]))
    return name.strip(), value.strip()
