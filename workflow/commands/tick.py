"""`gongwen tick`: fire the timed transitions that are due, record 催办 and escalate overdue work."""

from __future__ import annotations

import click

from workflow.commands.app import App
from workflow.i18n import say


@click.command()
@click.option("--dry-run", is_flag=True, help="List what is due now and since when; change nothing.")
@click.pass_obj
def tick(app: App, dry_run: bool) -> None:
    """Fire what is due now, as the system user: timed transitions (e.g. the 公示 ends after 5
    working days), the 催办 of passed deadlines (a 催办通知 and the overdue worklist) and their
    escalation to the supervisors. Idempotent and safe to run every minute from cron or a
    systemd timer, also several at once: each thing is recorded exactly once. Exit 0, with
    "nothing due" when there is nothing to do."""
    from workflow.engine.tick import tick as run

    engine = app.engine
    done = run(engine, dry_run)
    now = engine.now().isoformat()
    app.emit({"now": now, "dry_run": dry_run, "due": [d.to_json() for d in done]},
             "\n".join(d.line() for d in done) or say("nothing due at {now}", now=now))
