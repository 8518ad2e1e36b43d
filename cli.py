"""The gongwen command line (click). Thin: parse, call workflow.*, print a table or --json.

Imports of the engine are lazy so that `gongwen --help` stays fast."""

from __future__ import annotations

import json
import os
import sys

import click

from workflow.errors import USAGE, GongwenError

INTERNAL = 70  # EX_SOFTWARE: a bug in gongwen, not a user mistake


class App:
    """Per-invocation state: output mode, acting user, workspace (opened on first use)."""

    def __init__(self, as_json: bool, home: str | None, login: str | None, db_url: str | None = None):
        self.as_json = as_json
        self.home = home
        self.login_option = login
        self.db_url = db_url
        self.check_schema = True  # `gongwen db ...` works on older schemas
        self._workspace = None

    @property
    def workspace(self):
        if self._workspace is None:
            from workflow.workspace import Workspace, find_root

            workspace = Workspace(find_root(self.home), self.db_url)
            if self.check_schema:
                from workflow.schema import require_current

                require_current(workspace.db)
            self._workspace = workspace
        return self._workspace

    @property
    def engine(self):
        from workflow.engine import Engine

        return Engine(self.workspace)

    @property
    def login(self) -> str:
        from workflow.users import acting_login

        return acting_login(self.login_option)

    def close(self):
        if self._workspace is not None:
            self._workspace.close()

    def emit(self, data, human: str | None = None):
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        elif human is not None:
            click.echo(human)


def _error_json(reason: str, message: str, **extra) -> str:
    return json.dumps({"error": {"reason": reason, "message": message, **extra}}, ensure_ascii=False)


class GongwenGroup(click.Group):
    """Turns every error into one clear line (or one JSON document) and its exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in args
        try:
            code = super().main(args=args, prog_name=prog_name or "gongwen", complete_var=complete_var,
                                standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except GongwenError as exc:
            code = exc.exit_code
            if as_json:
                click.echo(json.dumps({"error": exc.to_json()}, ensure_ascii=False))
            else:
                click.echo(f"error: {exc.message}", err=True)
        except click.ClickException as exc:
            code = exc.exit_code
            if as_json:
                click.echo(_error_json("usage" if code == USAGE else "bad_input", exc.format_message()))
            else:
                exc.show()
        except click.Abort:
            click.echo("aborted", err=True)
            code = 1
        except Exception as exc:  # a bug of ours: one line, the traceback on request
            if os.environ.get("GONGWEN_DEBUG"):
                raise
            code = INTERNAL
            message = f"internal error: {type(exc).__name__}: {exc} (set GONGWEN_DEBUG=1 for the traceback)"
            click.echo(_error_json("internal", message) if as_json else f"error: {message}",
                       err=not as_json)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=GongwenGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("--home", metavar="DIR", envvar="GONGWEN_HOME",
              help="The workspace (default: found from the current folder upward).")
@click.option("--as", "login", metavar="LOGIN", help="Act as this user (default: $GONGWEN_USER, else the OS login).")
@click.option("--db", "db_url", metavar="URL", help="The database (default: $GONGWEN_DB, the workspace's db_url, "
              "else its SQLite file), e.g. postgresql://user:pw@host/gongwen.")
@click.version_option(package_name="gongwen", message="gongwen %(version)s")
@click.pass_context
def cli(ctx, as_json, home, login, db_url):
    """gongwen: move work plans, inspections and clean-school certifications through
    draft → review → approve → publish, with Word documents and an auditable history.

    Exit codes: 0 done, 1 refused by the workflow, 2 usage, 3 conflict, 4 bad input
    (70: an internal error, to be reported)."""
    ctx.obj = App(as_json, home, login, db_url)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _parse_sets(values) -> list[tuple[str, str]]:
    pairs = []
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set needs KEY=VALUE, got {text!r}")
        pairs.append((key.strip(), value))
    return pairs


# -- workspace -------------------------------------------------------------------------------
@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--issuer-name", help="发文机关 name, e.g. 某某县教育局.")
@click.option("--issuer-code", help="机关代字 used in 发文字号, e.g. 某教发.")
@click.option("--admin", "admin_login", metavar="LOGIN", help="First admin user (default: the acting user).")
@click.option("--db", "init_db", metavar="URL", help="Create the schema in this (empty) database instead of "
              "the workspace's SQLite file, e.g. postgresql://user:pw@host/gongwen.")
@click.pass_obj
def init(app: App, directory, issuer_name, issuer_code, admin_login, init_db):
    """Create a workspace: config, database (SQLite, or --db URL), definitions and templates."""
    import os
    from pathlib import Path

    from workflow import workspace as wsmod
    from workflow.admin import bootstrap_admin

    ws = wsmod.init(Path(directory), issuer_name, issuer_code, init_db or app.db_url or os.environ.get("GONGWEN_DB"))
    login = admin_login or app.login
    bootstrap_admin(ws, login)
    app.emit({"workspace": str(ws.root), "database": ws.db.safe_url, "admin": login},
             f"initialised gongwen workspace in {ws.root}\n  database: {ws.db.safe_url}\n"
             f"  admin user: {login} (add users with `gongwen users add`)")


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.pass_obj
def demo(app: App, directory):
    """Create a fresh demo workspace and take one item of each workflow to publish."""
    from workflow.demo import run_demo

    result = run_demo(directory, echo=None if app.as_json else click.echo, db_url=app.db_url)
    app.emit(result)


# -- items -----------------------------------------------------------------------------------
@cli.command()
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option("--title", help="The item's title.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field (repeatable; list.N.sub=V).")
@click.option("--from", "source", type=click.Path(dir_okay=False), help="Fields from a .yaml or .json file.")
@click.option("-m", "--comment", default="", help="A comment for the history.")
@click.pass_obj
def new(app: App, workflow_id, title, sets, source, comment):
    """Create an item of WORKFLOW in its initial state."""
    from workflow.admin import read_values

    values = read_values(source) if source else {}
    view = app.engine.create(app.login, workflow_id, title, values, _parse_sets(sets), comment)
    app.emit(view, f"created {view['key']} ({view['workflow_title']}): {view['title']} "
                   f"→ {view['state']} ({view['state_title']})")


@cli.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def show(app: App, key):
    """Show an item: fields, state, what you may do, history."""
    from workflow.present import item_text

    view = app.engine.show(app.login, key)
    app.emit(view, item_text(view))


@cli.command("do")
@click.argument("key", metavar="ITEM")
@click.argument("transition")
@click.option("-m", "--comment", default="", help="Comment or reason (required for returns).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field as part of the transition.")
@click.option("--expect-version", type=int, help="Refuse (exit 3) unless the item is still at this version.")
@click.pass_obj
def do_transition(app: App, key, transition, comment, sets, expect_version):
    """Fire TRANSITION on ITEM as the acting user."""
    view = app.engine.fire(app.login, key, transition, comment, _parse_sets(sets), expect_version)
    numbers = "".join(f"; {n}: {v}" for n, v in view["numbers"].items())
    app.emit(view, f"{view['key']}: {transition} → {view['state']} ({view['state_title']}){numbers}")


@cli.command("list")
@click.option("--workflow", help="Only this workflow.")
@click.option("--state", help="Only items in this state.")
@click.option("--mine", is_flag=True, help="Only items I created.")
@click.pass_obj
def list_items(app: App, workflow, state, mine):
    """List items."""
    from workflow.present import summaries_text

    items = app.engine.list_items(app.login, workflow, state, mine)
    app.emit({"items": items}, summaries_text(items))


@cli.command()
@click.pass_obj
def worklist(app: App):
    """What waits for me, from the definitions' worklists."""
    from workflow.present import summaries_text

    lists = app.engine.worklist(app.login)
    human = "\n\n".join(f"{wl['workflow_title']} · {wl['title']} ({len(wl['items'])})\n"
                        f"{summaries_text(wl['items'])}" for wl in lists) or "nothing waits for you"
    app.emit({"login": app.login, "worklists": lists}, human)


@cli.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def history(app: App, key):
    """The history of an item: who did what, when, with comments and changes."""
    from workflow.present import history_text

    data = app.engine.history(app.login, key)
    app.emit(data, f"{data['key']}  {data['title']}\n{history_text(data['history'])}")


@cli.command()
@click.argument("key", metavar="ITEM")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="Write the documents to DIR.")
@click.option("--pdf", is_flag=True, help="Also convert them to PDF with LibreOffice (soffice).")
@click.pass_obj
def docs(app: App, key, export_dir, pdf):
    """List an item's Word documents, or export them (and PDFs)."""
    from pathlib import Path

    from workflow.documents import export
    from workflow.present import table

    found = app.engine.documents(app.login, key, with_bytes=bool(export_dir or pdf))
    rows = found["documents"]
    data = {"key": found["key"], "documents": rows}
    if export_dir or pdf:
        folder = Path(export_dir) if export_dir else app.workspace.root / "documents" / found["key"]
        data["exported"] = [str(p) for p in export(folder, rows, found["blobs"])]
        if pdf:
            from workflow.office import convert_to_pdf

            data["pdf"] = [str(p) for p in convert_to_pdf([Path(p) for p in data["exported"]], folder)]
    human = table(["seq", "transition", "file", "sha256", "bytes"],
                  [[r["seq"], r["transition"], r["file"], r["sha256"][:12], r["size"]] for r in rows])
    for key_name in ("exported", "pdf"):
        if key_name in data:
            human += f"\n{key_name}: {len(data[key_name])} files in {folder}"
    app.emit(data, human if rows else f"{found['key']} has no documents yet")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--signer", metavar="LOGIN", help="The signer, when the form does not name one legibly.")
@click.pass_obj
def ingest(app: App, files, signer):
    """Apply returned approval forms (.docx files or folders) as the supervisor who signed."""
    from workflow.ingest import ingest as ingest_files

    results = ingest_files(app.engine, app.login, files, signer)
    lines = []
    for r in results:
        if r["ok"]:
            lines.append(f"ok       {r['file']}: {r['key']} {r['decision']} by {r['signer']} → "
                         f"{r['state']} ({r['state_title']})")
        else:
            lines.append(f"refused  {r['file']}: {r['reason']}: {r['message']}")
    app.emit({"results": results}, "\n".join(lines) or "no .docx files found")
    failed = [r["exit_code"] for r in results if not r["ok"]]
    if failed or not results:
        raise click.exceptions.Exit(max(failed) if failed else 4)


@cli.group()
def db():
    """The database schema (Alembic migrations)."""


@db.command("current")
@click.pass_obj
def db_current(app: App):
    """Show the schema revision of the database and the one this gongwen needs."""
    from workflow.schema import HEAD, current

    app.check_schema = False
    found = current(app.workspace.db)
    app.emit({"database": app.workspace.db.safe_url, "current": found, "head": HEAD, "up_to_date": found == HEAD},
             f"{app.workspace.db.safe_url}: revision {found or 'none'} (this gongwen: {HEAD})"
             + ("" if found == HEAD else " — run `gongwen db upgrade`"))


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App):
    """Upgrade the database schema in place to this gongwen's revision."""
    from workflow.schema import upgrade

    app.check_schema = False
    before, after = upgrade(app.workspace.db)
    app.emit({"database": app.workspace.db.safe_url, "before": before, "after": after},
             f"{app.workspace.db.safe_url}: {before or 'none'} → {after}" if before != after
             else f"{app.workspace.db.safe_url}: already at {after}")


@cli.group()
def audit():
    """Verify and replay the history (hash chain, checkpoints, documents)."""


def _auditor(app: App):
    from workflow import users

    with app.workspace.db.read() as session:
        return users.actor(session, app.login)


@audit.command("checkpoint")
@click.pass_obj
def audit_checkpoint(app: App):
    """Record a Merkle root over all events; keep the printed line outside the system."""
    from workflow.audit import make_checkpoint

    actor = _auditor(app)
    made = make_checkpoint(app.workspace.db, actor.login, app.engine.now().isoformat())
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

    from workflow.audit import verify
    from workflow.merkle import checkpoint_line, parse_checkpoint

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
        result["line"] = checkpoint_line(report.events, report.root, report.head, app.engine.now().isoformat())
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
    from workflow.present import table
    from workflow.replay import replay

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

    from workflow.merkle import parse_checkpoint
    from workflow.errors import BadInput
    from workflow.report import export

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


@cli.group()
def templates():
    """Check the Word templates."""


@templates.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True))
@click.pass_obj
def templates_check(app: App, directory):
    """Compile every template; list variables the workflow does not provide (exit 4 if any)."""
    from pathlib import Path

    from workflow.admin import definitions_in_use
    from workflow.documents import check_templates
    from workflow.errors import BadInput
    from workflow.workspace import shipped_dir

    if directory:
        folder = Path(directory)
    else:
        try:
            folder = app.workspace.templates_dir
        except BadInput:
            folder = shipped_dir("templates_docx")
    report = check_templates(definitions_in_use(app), folder)
    bad = [r for r in report if r["error"] or r["unknown"]]
    lines = [f"{'ok ' if not (r['error'] or r['unknown']) else 'BAD'} {r['workflow']}/{r['template']}"
             + (f": {r['error']}" if r["error"] else "")
             + (f": unknown variables {', '.join(r['unknown'])}" if r["unknown"] else "")
             + ("" if r["declared"] else " (not used by any transition)") for r in report]
    if bad and not app.as_json:
        click.echo("\n".join(lines))
        raise BadInput(f"{len(bad)} of {len(report)} templates have problems")
    if bad:
        raise BadInput(f"{len(bad)} of {len(report)} templates have problems", report=report)
    app.emit({"templates": report}, "\n".join(lines))


# -- users -----------------------------------------------------------------------------------
@cli.group()
def users():
    """Manage users and roles (admins only)."""


@users.command("add")
@click.argument("login")
@click.option("--name", default="", help="Full name (Chinese), e.g. 张伟.")
@click.option("--title", "user_title", default="", help="Post, e.g. 办公室科员.")
@click.option("--role", "roles", multiple=True, help="Role to grant (repeatable).")
@click.pass_obj
def users_add(app: App, login, name, user_title, roles):
    """Add a user."""
    from workflow.admin import manage_users

    user = manage_users(app, "add", login, list(roles), name=name, title=user_title)
    app.emit(user, f"added {user['login']} ({user['name']}) roles: {', '.join(user['roles']) or '-'}")


@users.command("list")
@click.pass_obj
def users_list(app: App):
    """List users and their roles."""
    from workflow.present import table
    from workflow.admin import list_users

    rows = list_users(app.workspace)
    app.emit({"users": rows}, table(["login", "name", "title", "roles"],
                                    [[u["login"], u["name"], u["title"], ", ".join(u["roles"])] for u in rows]))


def _role_change(action: str, summary: str):
    @click.argument("login")
    @click.argument("roles", nargs=-1, required=True)
    @click.pass_obj
    def command(app: App, login, roles):
        from workflow.admin import manage_users

        user = manage_users(app, action, login, list(roles))
        app.emit(user, f"{user['login']} now holds: {', '.join(user['roles']) or '-'}")

    command.__doc__ = summary
    return users.command(action)(command)


users_grant = _role_change("grant", "Grant roles to a user.")
users_revoke = _role_change("revoke", "Revoke roles from a user.")


# -- workflows -------------------------------------------------------------------------------
@cli.group()
def workflows():
    """Inspect, validate and draw workflow definitions."""


@workflows.command("list")
@click.pass_obj
def workflows_list(app: App):
    """The workflows of this workspace (or the shipped ones outside a workspace)."""
    from workflow.present import table
    from workflow.admin import definitions_in_use

    defs = definitions_in_use(app)
    rows = [{"id": d.id, "title": d.title, "states": len(d.states), "transitions": len(d.transitions),
             "version": d.hash, "file": d.path} for d in defs.values()]
    app.emit({"workflows": rows}, table(["id", "title", "states", "transitions", "version"],
                                        [[r["id"], r["title"], r["states"], r["transitions"], r["version"][:12]]
                                         for r in rows]))


@workflows.command("show")
@click.argument("workflow_id", metavar="ID")
@click.pass_obj
def workflows_show(app: App, workflow_id):
    """States, transitions, guards and worklists of a workflow, with Chinese titles."""
    from workflow.describe import describe, describe_text
    from workflow.admin import definitions_in_use

    definition = _pick(definitions_in_use(app), workflow_id)
    app.emit(describe(definition), describe_text(definition))


@workflows.command("validate")
@click.argument("files", nargs=-1, type=click.Path())
@click.pass_obj
def workflows_validate(app: App, files):
    """Check definition files (default: the workspace's, or the shipped ones)."""
    from workflow.admin import validate_files

    checked = validate_files(app, files)
    app.emit({"valid": checked}, "\n".join(f"ok  {path}" for path in checked))


@workflows.command("graph")
@click.argument("workflow_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default="mermaid")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.pass_obj
def workflows_graph(app: App, workflow_id, fmt, output):
    """Draw a workflow as mermaid, dot or svg (svg needs Graphviz)."""
    from workflow.graph import draw
    from workflow.admin import definitions_in_use

    text = draw(_pick(definitions_in_use(app), workflow_id), fmt)
    if output:
        from workflow.errors import BadInput

        mode = "wb" if isinstance(text, bytes) else "w"
        try:
            with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
                fh.write(text)
        except OSError as exc:
            raise BadInput(f"cannot write {output}: {exc.strerror or exc}") from None
        app.emit({"workflow": workflow_id, "format": fmt, "output": output}, f"wrote {output}")
    elif app.as_json:
        app.emit({"workflow": workflow_id, "format": fmt,
                  "graph": text.decode() if isinstance(text, bytes) else text})
    else:
        click.echo(text.decode() if isinstance(text, bytes) else text)


def _pick(definitions: dict, workflow_id: str):
    from workflow.errors import NotFound

    if workflow_id not in definitions:
        raise NotFound(f"unknown workflow {workflow_id!r} (known: {', '.join(definitions)})")
    return definitions[workflow_id]


def main():
    code = cli.main(prog_name="gongwen", standalone_mode=False)
    # Skip the interpreter's teardown of SQLAlchemy & co. (~0.1 s per command): the database
    # is closed by then (App.close) and the output flushed here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
