"""The gongwen command line (click): the root group, its options and the entry point.

The commands live in workflow/commands/ (one module per group of tasks): each parses, calls
one function of the engine package and prints a table or --json. The engine is imported
lazily inside the commands, so that `gongwen --help` stays fast."""

from __future__ import annotations

import os
import sys

import click

from workflow import __version__
from workflow.commands import admin, attach, audit, items, keys, ledger, migrate, sign, tick, workspace
from workflow.commands.app import App, GongwenGroup


@click.group(cls=GongwenGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("--home", metavar="DIR", envvar="GONGWEN_HOME",
              help="The workspace (default: found from the current folder upward).")
@click.option("--as", "login", metavar="LOGIN", help="Act as this user (default: $GONGWEN_USER, else the OS login).")
@click.option("--db", "db_url", metavar="URL", help="The database (default: $GONGWEN_DB, the workspace's db_url, "
              "else its SQLite file), e.g. postgresql://user:pw@host/gongwen.")
@click.version_option(__version__, message="gongwen %(version)s")
@click.pass_context
def cli(ctx: click.Context, as_json: bool, home: str | None, login: str | None, db_url: str | None) -> None:
    """gongwen: move work plans, inspections and clean-school certifications through
    draft → review → approve → publish, with Word documents and an auditable history.

    Exit codes: 0 done, 1 refused by the workflow, 2 usage, 3 conflict, 4 bad input
    (70: an internal error, to be reported)."""
    ctx.obj = App(as_json, home, login, db_url)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


for command in (workspace.init, workspace.demo, items.new, items.show, items.do_transition,
                items.countersign, items.list_items, items.worklist, items.history, items.docs, items.ingest, sign.sign,
                attach.attach, attach.void,
                workspace.db, audit.audit, admin.templates, admin.users, admin.workflows, migrate.migrate, keys.key,
                tick.tick, ledger.export, ledger.import_items):
    cli.add_command(command)


def main() -> None:
    code = cli.main(prog_name="gongwen", standalone_mode=False)
    # Skip the interpreter's teardown of SQLAlchemy & co. (~0.1 s per command): the database
    # is closed by then (App.close) and the output flushed here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
