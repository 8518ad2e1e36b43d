"""`gongwen audit`: checkpoint, verify, replay and export the history. Each command parses its
options, calls one function of workflow.audit and prints what that returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from workflow.commands.app import App
from workflow.commands.progress import progress
from workflow.i18n import say

if TYPE_CHECKING:  # for the annotations (imported when used, not at startup)
    from workflow.engine.guards import Actor


@click.group()
def audit() -> None:
    """Verify and replay the history (hash chain, checkpoints, documents)."""


def _auditor(app: App) -> Actor:
    """The acting user, who must be known (an unknown login is refused)."""
    from workflow.engine import users

    with app.workspace.db.read() as session:
        return users.actor(session, app.login)


@audit.command("checkpoint")
@click.pass_obj
def audit_checkpoint(app: App) -> None:
    """Record a Merkle root over all events; keep the printed line outside the system."""
    from workflow.audit.verify import make_checkpoint

    actor = _auditor(app)
    made = make_checkpoint(app.workspace.db, actor.login, app.workspace.now().isoformat())
    app.emit(made, f"{made['line']}\n" + say("keep this line outside gongwen (print it, mail it, file it): "
                                             "`gongwen audit verify --checkpoint LINE` proves the log only grew since"))


@audit.command("verify")
@click.option("--checkpoint", "checkpoint", metavar="VALUE|FILE",
              help="An earlier checkpoint line, or a file holding it.")
@click.option("--root", "with_root", is_flag=True,
              help="Compute today's Merkle root too, and print a checkpoint line to keep (nothing is written).")
@click.option("--no-signatures", "no_signatures", is_flag=True,
              help="Skip checking each event's signature (a fast structural check).")
@click.pass_obj
def audit_verify(app: App, checkpoint: str | None, with_root: bool, no_signatures: bool) -> None:
    """Check the hash chain and every event's signature, every stored document, every item row
    against its events, and users, roles and keys against theirs; exit 1 on any problem."""
    from workflow.audit.merkle import read_checkpoint
    from workflow.audit.verify import verify

    _auditor(app)
    given = read_checkpoint(checkpoint) if checkpoint else None
    with progress(app, say("verifying"), None):
        report = verify(app.workspace.db, given, root=with_root, at=app.workspace.now().isoformat(),
                        signatures=not no_signatures)
    lines = [say("{verdict}: {events} events ({signatures} signatures checked), {items} items, {blobs} stored "
                 "documents; head {head}", verdict=say("OK") if report.ok else say("BROKEN"), events=report.events,
                 signatures=report.signatures, items=report.items, blobs=report.blobs, head=report.head)]
    for p in report.problems:
        where = f"{p.item or '-'}" + (f" event {p.seq}" if p.seq else "") + (f" (#{p.event_id})" if p.event_id else "")
        lines.append(f"  {p.kind:<20} {where}: {p.message}")
    lines += [f"  note: {n}" for n in report.notes]
    if report.line:
        lines.append(f"{report.line}\n" + say("keep this line outside gongwen: it is a checkpoint of the log just "
                                              "verified"))
    app.emit(report.to_json(), "\n".join(lines))
    if not report.ok:
        raise click.exceptions.Exit(1)


@audit.command("replay")
@click.option("--at", "at", metavar="TIME", help="The state of every item at this time (ISO, e.g. 2025-03-10T09:30).")
@click.option("--item", "item_key", metavar="KEY", help="Only this item.")
@click.option("--rerender", is_flag=True, help="Re-render every document and compare its sha256.")
@click.pass_obj
def audit_replay(app: App, at: str | None, item_key: str | None, rerender: bool) -> None:
    """Rebuild each item's state from its events through its pinned definition."""
    from workflow.audit.replay import replay
    from workflow.commands.present import table

    _auditor(app)
    with progress(app, say("replaying"), None):
        report = replay(app.workspace, at, item_key, rerender)
    lines = [say("{verdict}: {events} events of {items} items replayed", verdict=say("OK") if report.ok
                 else say("ANOMALIES"), events=report.events, items=report.items)
             + (say("; {done} of {documents} documents re-rendered byte for byte", done=report.rerendered,
                    documents=report.documents) if rerender else "")]
    for a in report.anomalies:
        lines.append(f"  {a.item}" + (f" event {a.seq}" if a.seq is not None else "")
                     + (f" {a.document}" if a.document is not None else "") + f": {a.problem}")
    if at:
        lines.append(table(["key", "workflow", f"state at {at}", "since"],
                           [[k, v["workflow"], v["state"] or "(not yet created)", v["since"] or ""]
                            for k, v in report.states.items()]))
    app.emit(report.to_json(), "\n".join(lines))
    if not report.ok:
        raise click.exceptions.Exit(1)


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "html"]),
              help="csv: one row per event; json: everything; html: one self-contained report "
                   "(default: from the file's suffix, else html).")
@click.option("-o", "--output", required=True, metavar="FILE", help="The file to write.")
@click.option("--checkpoint", "checkpoint", metavar="VALUE|FILE",
              help="An earlier checkpoint line, or a file holding it (for the verify result).")
@click.pass_obj
def audit_export(app: App, fmt: str | None, output: str, checkpoint: str | None) -> None:
    """The full history for an auditor: verify and replay results, every item's timeline."""
    from workflow.audit.merkle import read_checkpoint
    from workflow.audit.report import write_export

    _auditor(app)
    summary = write_export(app.workspace, output, fmt, read_checkpoint(checkpoint) if checkpoint else None)
    verdicts = (f"verify {'OK' if summary.verify_ok else 'BROKEN'}, "
                f"replay {'OK' if summary.replay_ok else 'ANOMALIES'}")
    app.emit(summary.to_json(), f"wrote {summary.file} ({summary.format}: {summary.items} items, "
                                f"{summary.events} events); {verdicts}")
