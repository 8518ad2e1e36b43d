"""`gongwen migrate`: move running items to another version of their workflow's definition."""

from __future__ import annotations

import click

from workflow.commands.app import App


@click.command()
@click.argument("workflow")
@click.option("--to", "to", default="current", show_default=True, metavar="VERSION",
              help="`current` (the definition file as it is now) or 8+ hex digits of a stored version.")
@click.option("--items", "keys", multiple=True, metavar="KEY", help="Only these items (repeat; default: all).")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="Where items in a state the new version lacks go (repeat).")
@click.option("--dry-run", is_flag=True, help="Say what would move; change nothing.")
@click.pass_obj
def migrate(app: App, workflow: str, to: str, keys: tuple[str, ...], pairs: tuple[str, ...], dry_run: bool) -> None:
    """Move the running items of WORKFLOW to another definition version (admin): each move is an
    event in the item's history; finished items keep their version."""
    from workflow.engine.migrate import migrate as run
    from workflow.engine.migrate import parse_map
    from workflow.engine.names import item_key, workflow_id

    workflow = workflow_id(app.workspace, workflow, stored=True) or workflow  # 工作计划 = plan
    keys = tuple(item_key(key) for key in keys)
    moved = run(app.workspace, app.login, workflow, to, keys, parse_map(pairs), dry_run, app.keys)
    lines = [f"{'would move' if dry_run else 'moved'} {m.key}: {m.from_version[:12]} {m.from_state} → "
             f"{m.to_version[:12]} {m.to_state}" for m in moved]
    app.emit({"dry_run": dry_run, "moved": [m.to_json() for m in moved]},
             "\n".join(lines) or f"nothing to move: the running items of {workflow} are on that version")
