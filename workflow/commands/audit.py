"""`gongwen audit`: checkpoint, verify, replay and export the history."""

from __future__ import annotations

import click

from workflow.commands.app import App


@click.group()
def audit():
    """Verify and replay the history (hash chain, checkpoints, documents)."""


def _auditor(app: App):
    from workflow.engine import users

    with app.workspace.db.read() as session:
        return users.actor(session, app.login)


@audit.command("checkpoint")
@click.pass_obj
def audit_checkpoint(app: App):
    """Record a Merkle root over all events; keep the printed line outside the system."""
    from workflow.audit.verify import make_checkpoint

    actor = _auditor(app)
    made = make_checkpoint(app.workspace.db, actor.login, app.workspace.now().isoformat())
    app.emit(made, f"{made['line']}\nkeep this line outside gongwen (print it, mail it, file it): "
                   "`gongwen audit verify --checkpoint LINE` proves the log only grew since")


@audit.command("verify")
@click.option("--checkpoint", "checkpoint", metavar="VALUE|FILE", help="An earlier checkpoint line, or a file holding it.")
@click.option("--root", "with_root", is_flag=True,
              help="Compute today's Merkle root too, and print a checkpoint line to keep (nothing is written).")
@click.pass_obj
def audit_verify(app: App, checkpoint, with_root):
    """Check the hash chain, every stored document and every item's state; exit 1 on any problem."""
    from pathlib import Path

    from workflow.audit.merkle import checkpoint_line, parse_checkpoint
    from workflow.audit.verify import verify

    _auditor(app)
    given = None
    if checkpoint:
        text = Path(checkpoint).read_text(encoding="utf-8") if Path(checkpoint).is_file() else checkpoint
        given = parse_checkpoint(text)
    report = verify(app.workspace.db, given, root=with_root)
    lines = [f"{'OK' if report.ok else 'BROKEN'}: {report.events} events, {report.items} items, "
             f"{report.blobs} stored documents; head {report.head}"]
    for p in report.problems:
        where = f"{p.item or '-'}" + (f" event {p.seq}" if p.seq else "") + (f" (#{p.event_id})" if p.event_id else "")
        lines.append(f"  {p.kind:<20} {where}: {p.message}")
    lines += [f"  note: {n}" for n in report.notes]
    result = report.as_dict()
    if with_root and report.ok:
        result["line"] = checkpoint_line(report.events, report.root, report.head, app.workspace.now().isoformat())
        lines.append(f"{result['line']}\nkeep this line outside gongwen: it is a checkpoint of the log just verified")
    app.emit(result, "\n".join(lines))
    if not report.ok:
        raise click.exceptions.Exit(1)


@audit.command("replay")
@click.option("--at", "at", metavar="TIME", help="The state of every item at this time (ISO, e.g. 2025-03-10T09:30).")
@click.option("--item", "item_key", metavar="KEY", help="Only this item.")
@click.option("--rerender", is_flag=True, help="Re-render every document and compare its sha256.")
@click.pass_obj
def audit_replay(app: App, at, item_key, rerender):
    """Rebuild each item's state from its events through its pinned definition."""
    from workflow.audit.replay import replay
    from workflow.commands.present import table

    _auditor(app)
    report = replay(app.workspace, at, item_key, rerender)
    lines = [f"{'OK' if report.ok else 'ANOMALIES'}: {report.events} events of {report.items} items replayed"
             + (f"; {report.rerendered} of {report.documents} documents re-rendered byte for byte" if rerender else "")]
    for a in report.anomalies:
        lines.append(f"  {a.get('item', '-')}" + (f" event {a['seq']}" if "seq" in a else "")
                     + (f" {a['document']}" if "document" in a else "") + f": {a['problem']}")
    if at:
        lines.append(table(["key", "workflow", f"state at {at}", "since"],
                           [[k, v["workflow"], v["state"] or "(not yet created)", v["since"] or ""]
                            for k, v in report.states.items()]))
    app.emit(report.as_dict(), "\n".join(lines))
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
def audit_export(app: App, fmt, output, checkpoint):
    """The full history for an auditor: verify and replay results, every item's timeline."""
    from pathlib import Path

    from workflow.audit.merkle import parse_checkpoint
    from workflow.audit.report import export
    from workflow.errors import BadInput

    _auditor(app)
    path = Path(output)
    fmt = fmt or {".csv": "csv", ".json": "json"}.get(path.suffix.lower(), "html")
    given = None
    if checkpoint:
        text = Path(checkpoint).read_text(encoding="utf-8") if Path(checkpoint).is_file() else checkpoint
        given = parse_checkpoint(text)
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: the folder {path.parent} does not exist")
    content, data = export(app.workspace, fmt, given)
    try:
        # utf-8-sig for CSV: Excel reads the Chinese text correctly only with the byte-order mark
        path.write_text(content, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    events = sum(len(i["events"]) for i in data["items"])
    summary = {"file": str(path), "format": fmt, "items": len(data["items"]), "events": events,
               "verify_ok": data["verify"]["ok"], "replay_ok": data["replay"]["ok"]}
    verdicts = (f"verify {'OK' if summary['verify_ok'] else 'BROKEN'}, "
                f"replay {'OK' if summary['replay_ok'] else 'ANOMALIES'}")
    app.emit(summary, f"wrote {path} ({fmt}: {len(data['items'])} items, {events} events); {verdicts}")
