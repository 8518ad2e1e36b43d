"""Administration: users, workflow definitions and Word templates."""

from __future__ import annotations

from typing import Any

import click

from workflow.commands.app import App
from workflow.i18n import say


@click.group()
def users() -> None:
    """Manage users and roles (admins only), and delegations (委托)."""


@users.command("add")
@click.argument("login")
@click.option("--name", default="", help="Full name (Chinese), e.g. 张伟.")
@click.option("--title", "user_title", default="", help="Post, e.g. 办公室科员.")
@click.option("--role", "roles", multiple=True, help="Role to grant (repeatable).")
@click.option("--key", "key_line", metavar="LINE", help="The user's public key line (from their `gongwen key new`).")
@click.option("--unit", default="", help="The unit they act for, e.g. a school's name: with a role a workflow "
                                          "declares unit_field (school), they act on that unit's items only.")
@click.pass_obj
def users_add(app: App, login: str, name: str, user_title: str, roles: tuple[str, ...], key_line: str | None,
              unit: str) -> None:
    """Add a user (an event signed by the admin)."""
    from workflow.engine.admin import manage_users

    user = manage_users(app.workspace, app.login, "add", login, list(roles), name=name, title=user_title,
                        key_line=key_line, keys=app.keys, unit=unit)
    app.emit(user.to_json(), say("added {login} ({name}) roles: {roles}", login=user.login, name=user.name,
                                 roles=", ".join(user.roles) or "-"))


@users.command("list")
@click.pass_obj
def users_list(app: App) -> None:
    """List users and their roles."""
    from workflow.commands.present import table
    from workflow.engine.admin import list_users

    rows = list_users(app.workspace)
    app.emit({"users": [u.to_json() for u in rows]},
             table([say("login"), say("name"), say("post"), say("unit"), say("roles"), say("key")],
                   [[u.login, u.name, u.title, u.unit or "-", ", ".join(u.roles), u.key or "-"] for u in rows]))


def _role_change(action: str, summary: str) -> click.Command:
    @click.argument("login")
    @click.argument("roles", nargs=-1, required=True)
    @click.pass_obj
    def command(app: App, login: str, roles: tuple[str, ...]) -> None:
        from workflow.engine.admin import manage_users

        user = manage_users(app.workspace, app.login, action, login, list(roles), keys=app.keys)
        app.emit(user.to_json(), say("{login} now holds: {roles}", login=user.login,
                                     roles=", ".join(user.roles) or "-"))

    command.__doc__ = summary
    return users.command(action)(command)


users_grant = _role_change("grant", "Grant roles to a user.")
users_revoke = _role_change("revoke", "Revoke roles from a user.")


@users.command("key")
@click.argument("login")
@click.argument("key_line", metavar="LINE")
@click.pass_obj
def users_key(app: App, login: str, key_line: str) -> None:
    """Register LOGIN's public key LINE (replaces the key registered before)."""
    from workflow.engine.admin import manage_users

    user = manage_users(app.workspace, app.login, "key", login, key_line=key_line, keys=app.keys)
    app.emit(user.to_json(), f"{user.login}: key {user.key} registered")


@users.command("revoke-key")
@click.argument("login")
@click.pass_obj
def users_revoke_key(app: App, login: str) -> None:
    """Revoke LOGIN's registered key: they can no longer act until a new one is registered."""
    from workflow.engine.admin import manage_users

    user = manage_users(app.workspace, app.login, "revoke-key", login, keys=app.keys)
    app.emit(user.to_json(), f"{user.login}: key revoked; no key registered now")


@users.command("deactivate")
@click.argument("login")
@click.option("-m", "--reason", default="", help="Why (e.g. 调离, 退休).")
@click.pass_obj
def users_deactivate(app: App, login: str, reason: str) -> None:
    """Deactivate LOGIN: they keep their history and can no longer act (an event signed by the admin)."""
    from workflow.engine.accounts import deactivate
    from workflow.i18n import _

    user = deactivate(app.workspace, app.login, login, reason, app.keys)
    app.emit(user.to_json(), _("{login}: deactivated; their history stays, they can no longer act").format(
        login=user.login))


@users.command("reactivate")
@click.argument("login")
@click.option("-m", "--reason", default="", help="Why.")
@click.pass_obj
def users_reactivate(app: App, login: str, reason: str) -> None:
    """Reactivate LOGIN, deactivated before: they may act again (an event signed by the admin)."""
    from workflow.engine.accounts import deactivate
    from workflow.i18n import _

    user = deactivate(app.workspace, app.login, login, reason, app.keys, active=True)
    app.emit(user.to_json(), _("{login}: active again").format(login=user.login))


@users.command("delegate")
@click.argument("principal")
@click.argument("delegate_to", metavar="DELEGATE")
@click.option("--role", "roles", multiple=True, help="A role of PRINCIPAL to delegate (repeatable; default: all).")
@click.option("--from", "start", metavar="DATE", help="First day (default today).")
@click.option("--until", required=True, metavar="DATE", help="Last day, included.")
@click.option("-m", "--reason", required=True, help="Why (e.g. 局长休假).")
@click.pass_obj
def users_delegate(app: App, principal: str, delegate_to: str, roles: tuple[str, ...], start: str | None,
                   until: str, reason: str) -> None:
    """Delegate PRINCIPAL's roles to DELEGATE for a period (委托; by PRINCIPAL or an admin)."""
    from workflow.engine.delegation import delegate

    found = delegate(app.workspace, app.login, principal, delegate_to, list(roles), until, start, reason, app.keys)
    app.emit(found.to_json(), f"delegation #{found.id}: {found.delegate} acts for {found.principal} as "
                              f"{', '.join(found.roles)} from {found.starts} until {found.ends}")


@users.command("undelegate")
@click.argument("delegation_id", metavar="ID", type=int)
@click.option("-m", "--reason", default="", help="Why it ends early.")
@click.pass_obj
def users_undelegate(app: App, delegation_id: int, reason: str) -> None:
    """End delegation ID now (by its principal, its delegate or an admin)."""
    from workflow.engine.delegation import undelegate

    found = undelegate(app.workspace, app.login, delegation_id, reason, app.keys)
    app.emit(found.to_json(), f"delegation #{found.id} ended: {found.delegate} no longer acts for {found.principal}")


@users.command("delegations")
@click.option("--all", "everything", is_flag=True, help="Ended and future ones too.")
@click.pass_obj
def users_delegations(app: App, everything: bool) -> None:
    """The delegations in force today (委托)."""
    from workflow.commands.present import table
    from workflow.engine.delegation import listing

    rows = listing(app.workspace, app.login, everything)
    app.emit({"delegations": [d.to_json() for d in rows]},
             table(["id", "principal", "delegate", "roles", "from", "until", "in force", "reason"],
                   [[str(d.id), d.principal, d.delegate, ", ".join(d.roles), d.starts, d.ends,
                     "yes" if d.in_force else "ended" if d.ended_event else "no", d.reason] for d in rows])
             if rows else "(no delegations in force)" if not everything else "(no delegations)")


# -- workflows -------------------------------------------------------------------------------
@click.group()
def workflows() -> None:
    """Inspect, validate and draw workflow definitions."""


@workflows.command("list")
@click.pass_obj
def workflows_list(app: App) -> None:
    """The workflows of this workspace (or the shipped ones outside a workspace)."""
    from workflow.commands.present import table
    from workflow.engine.admin import definitions_in_use

    defs = definitions_in_use(app.optional_workspace())
    rows: list[dict[str, Any]] = [{"id": d.id, "title": d.title, "states": len(d.states),
                                   "transitions": len(d.transitions), "version": d.hash, "file": d.path}
                                  for d in defs.values()]
    app.emit({"workflows": rows}, table(["id", say("title"), say("states"), say("transitions"), say("version")],
                                        [[r["id"], r["title"], r["states"], r["transitions"], r["version"][:12]]
                                         for r in rows]))


@workflows.command("show")
@click.argument("workflow_id", metavar="WORKFLOW")
@click.pass_obj
def workflows_show(app: App, workflow_id: str) -> None:
    """Fields (their --set keys), states, transitions, guards and worklists of a workflow, with
    Chinese titles."""
    from workflow.definition.describe import describe, describe_text
    from workflow.engine.admin import definitions_in_use, pick_definition

    definitions = definitions_in_use(app.optional_workspace())
    definition = pick_definition(definitions, named(definitions, workflow_id))
    app.emit(describe(definition), describe_text(definition))


@workflows.command("validate")
@click.argument("files", nargs=-1, type=click.Path())
@click.pass_obj
def workflows_validate(app: App, files: tuple[str, ...]) -> None:
    """Check definition files (default: the workspace's, or the shipped ones)."""
    from workflow.engine.admin import validate_files

    checked = validate_files(app.optional_workspace(), files)
    app.emit({"valid": checked}, "\n".join(f"ok  {path}" for path in checked))


@workflows.command("graph")
@click.argument("workflow_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default="mermaid")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.pass_obj
def workflows_graph(app: App, workflow_id: str, fmt: str, output: str | None) -> None:
    """Draw a workflow as mermaid, dot or svg (svg needs Graphviz)."""
    from workflow.definition.graph import draw, text_of, write
    from workflow.engine.admin import definitions_in_use, pick_definition

    definitions = definitions_in_use(app.optional_workspace())
    drawn = draw(pick_definition(definitions, named(definitions, workflow_id)), fmt)
    if output:
        write(drawn, output)
        app.emit({"workflow": workflow_id, "format": fmt, "output": output}, f"wrote {output}")
    else:
        app.emit({"workflow": workflow_id, "format": fmt, "graph": text_of(drawn)}, text_of(drawn))


def named(definitions: dict[str, Any], name: str) -> str:
    """A workflow's id from its id or its Chinese title (工作计划 = plan); unknown: as given."""
    from workflow.definition.names import workflow

    return workflow({i: d.title for i, d in definitions.items()}, name) or name


@click.group()
def templates() -> None:
    """Check the Word templates."""


@templates.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True))
@click.pass_obj
def templates_check(app: App, directory: str | None) -> None:
    """Compile every template; list variables the workflow does not provide (exit 4 if any)."""
    from workflow.engine.admin import check_templates
    from workflow.errors import BadInput

    try:
        report = check_templates(app.optional_workspace(), directory)
    except BadInput as exc:
        if "report" in exc.details and not app.as_json:
            click.echo(_template_lines(exc.details["report"]))
            exc.details.pop("report")
        raise
    app.emit({"templates": report}, _template_lines(report))


def _template_lines(report: list[dict[str, Any]]) -> str:
    return "\n".join(f"{'ok ' if not (r['error'] or r['unknown']) else 'BAD'} {r['workflow']}/{r['template']}"
                     + (f": {r['error']}" if r["error"] else "")
                     + (f": unknown variables {', '.join(r['unknown'])}" if r["unknown"] else "")
                     + ("" if r["declared"] else " (not used by any transition)") for r in report)
