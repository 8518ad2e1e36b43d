"""Item commands: new, show, do, countersign, list, worklist, history, docs, ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from workflow.commands.app import App, parse_sets
from workflow.i18n import Named, say
from workflow.inputs import check_text

LIST_PAGE = 50  # `gongwen list`: items per page unless --limit (or --all)
MAX_PAGE, MAX_OFFSET = 100_000, 2**31 - 1  # beyond: a usage error (exit 2), not a database overflow

if TYPE_CHECKING:  # the engine's results, for the annotations (imported when used, not at startup)
    from workflow.engine.reads import ItemPage
    from workflow.engine.views import ItemDocuments, ItemHistory, ItemView, Worklist


@click.command()
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option("--title", help="The item's title.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field (repeatable; list.N.sub=V).")
@click.option("--from", "source", metavar="FILE", help="Fields from a .yaml or .json file.")
@click.option("-m", "--comment", default="", help="A comment for the history.")
@click.pass_obj
def new(app: App, workflow_id: str, title: str | None, sets: tuple[str, ...], source: str | None,
        comment: str) -> None:
    """Create an item of WORKFLOW (its id or its title, e.g. 工作计划) in its initial state."""
    from workflow.definition.valuefile import read_values
    from workflow.engine.names import workflow_id as named_workflow

    if title is not None:
        check_text(title, "--title", multiline=False)
    check_text(comment, "comment")
    pairs = parse_sets(sets)
    values = read_values(source) if source else {}
    workflow_id = named_workflow(app.workspace, workflow_id) or workflow_id  # 工作计划 = plan
    view: ItemView = app.engine.create(app.login, workflow_id, title, values, pairs, comment)
    app.emit(view.to_json(), say("created {key} ({workflow}): {title} → {state}", key=view.key,
                                 workflow=view.workflow_title, title=view.title,
                                 state=Named.of(view.state, view.state_title)))


@click.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def show(app: App, key: str) -> None:
    """Show an item: fields, state, what you may do, history."""
    from workflow.commands.present import item_text

    view: ItemView = app.engine.show(app.login, item_key(key))
    app.emit(view.to_json(), item_text(view))


@click.command("do")
@click.argument("names", nargs=-1, metavar="[ITEM] TRANSITION")
@click.option("-m", "--comment", default="", help="Comment or reason (required for returns).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Set a field as part of the transition.")
@click.option("--expect-version", type=int, help="Refuse (exit 3) unless the item is still at this version.")
@click.option("--all-from", type=click.Path(dir_okay=False), metavar="FILE",
              help="Fire on every item listed in FILE (one key per line), each on its own.")
@click.option("--where", multiple=True, metavar="NAME=VALUE",
              help="Fire on every item matching (workflow, state, mine, grep, number, school, from, to).")
@click.pass_context
def do_transition(ctx: click.Context, names: tuple[str, ...], comment: str, sets: tuple[str, ...],
                  expect_version: int | None, all_from: str | None, where: tuple[str, ...]) -> None:
    """Fire TRANSITION (its id or its title, e.g. 送核稿) on ITEM as the acting user; with
    --all-from or --where, on many items, each on its own, reporting which moved and which were
    refused (the exit code is the worst)."""
    from workflow.engine.names import transition_id, transition_title

    app: App = ctx.obj
    check_text(comment, "comment")
    pairs = parse_sets(sets)
    bulk = all_from is not None or bool(where)
    wanted = ("TRANSITION",) if bulk else ("ITEM", "TRANSITION")
    if len(names) < len(wanted):
        raise click.UsageError(say("Missing argument '{name}'.", name=wanted[len(names)]))
    if len(names) > len(wanted):
        raise click.UsageError(say("Got unexpected extra argument ({extra})", extra=" ".join(names[len(wanted):])))
    if bulk:
        from workflow.commands.bulk import do_many

        if expect_version is not None:
            raise click.UsageError(say("--expect-version is for one item"))
        ctx.exit(do_many(app, names[0], all_from, where, comment, pairs))
    key, transition = names
    key = item_key(key)
    transition = transition_id(app.workspace, key, transition)
    view: ItemView = app.engine.fire(app.login, key, transition, comment, pairs, expect_version)
    numbers = "".join(f"; {n}: {v}" for n, v in view.numbers.items())
    app.emit(view.to_json(), say("{key}: {transition} → {state}{numbers}", key=view.key,
                                 transition=Named(transition, transition_title(view.definition_version, transition)),
                                 state=Named.of(view.state, view.state_title), numbers=numbers))


@click.command()
@click.argument("key", metavar="ITEM")
@click.argument("decision", metavar="同意|不同意")
@click.option("-m", "--comment", default="", help="The opinion (会签意见).")
@click.option("--for", "party", metavar="OFFICE", help="The office (role or its title) you sign for, if several.")
@click.option("--expect-version", type=int, help="Refuse (exit 3) unless the item is still at this version.")
@click.pass_obj
def countersign(app: App, key: str, decision: str, comment: str, party: str | None,
                expect_version: int | None) -> None:
    """Give your 会签 opinion on ITEM: 同意 (agree) or 不同意 (disagree)."""
    from workflow.engine import countersign as cosign

    check_text(comment, "comment")
    view: ItemView = cosign.record(app.engine, app.login, item_key(key), decision, comment, party,
                                   expect_version)
    pending = "、".join(view.countersign["pending"]) if view.countersign else ""
    left = say("; yet to sign: {pending}", pending=pending) if pending else ""
    app.emit(view.to_json(), say("{key}: 会签 {decision} → {state}{left}", key=view.key, decision=decision,
                                 state=Named.of(view.state, view.state_title), left=left))


@click.command("list")
@click.option("--workflow", help="Only this workflow (its id or its title).")
@click.option("--state", help="Only items in this state (its id or its title).")
@click.option("--mine", is_flag=True, help="Only items I created.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_PAGE), help=f"Items per page (default {LIST_PAGE}).")
@click.option("--offset", type=click.IntRange(min=0, max=MAX_OFFSET), help="Skip this many items first (default 0).")
@click.option("--page", type=click.IntRange(min=1, max=MAX_OFFSET), help="The page to show, from 1.")
@click.option("--all", "everything", is_flag=True, help="Every item matching, on one page.")
@click.option("--grep", metavar="TEXT", help="Only items with this text in the title or anywhere in the form.")
@click.option("--number", metavar="TEXT", help="Only items with a number drawn containing this (发文字号, 证书编号).")
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="Only items created on or after this day.")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Only items created on or before this day.")
@click.option("--school", metavar="TEXT", help="Only items whose school contains this.")
@click.option("--sort", default="id", show_default=True,
              help="Order by id, key, title, state, created, updated or workflow; -created: newest first.")
@click.pass_obj
def list_items(app: App, workflow: str | None, state: str | None, mine: bool, limit: int | None,
               offset: int | None, page: int | None, everything: bool, grep: str | None, number: str | None,
               since: Any, until: Any, school: str | None, sort: str) -> None:
    """List items, oldest first, a page at a time, with how many there are in all."""
    from workflow.commands.present import summaries_text
    from workflow.engine.listing import Search
    from workflow.engine.names import list_filter

    if page is not None and offset is not None:
        raise click.UsageError("give --page or --offset, not both")
    if everything and (limit is not None or page is not None or offset is not None):
        raise click.UsageError("--all lists every item: it takes no --limit, --page or --offset")
    size = None if everything else (limit or LIST_PAGE)
    skip = (page - 1) * (size or 0) if page is not None else (offset or 0)
    workflow, state = list_filter(app.workspace, workflow, state)  # titles (督导检查, 已印发) as ids
    search = Search(grep=grep, number=number, since=since.date() if since else None,
                    until=until.date() if until else None, school=school, sort=sort)
    items: ItemPage = app.engine.list_items(app.login, workflow, state, mine, limit=size, offset=skip, search=search)
    app.emit({"items": [i.to_json() for i in items], "total": items.total, "limit": size, "offset": skip},
             summaries_text(items) + page_text(items.total, size, skip, len(items)))


def item_key(key: str) -> str:
    """ITEM as stored: keys are upper-case, `jh-2025-0001` finds JH-2025-0001 (engine/names.py)."""
    from workflow.engine.names import item_key as stored_key

    return stored_key(key)


def page_text(total: int, limit: int | None, offset: int, shown: int) -> str:
    """The line under a page of `list`: which items of how many, and how to see the next ones."""
    if limit is None and offset == 0:
        return "\n" + (say("{total} item", total=total) if total == 1 else say("{total} items", total=total)) \
            if total else ""
    if not shown:
        return "\n" + say("showing none of {total} (offset {offset})", total=total, offset=offset) if total else ""
    line = "\n" + say("showing {first}–{last} of {total}", first=offset + 1, last=offset + shown, total=total)
    if offset + shown < total and limit is not None:
        follow = f"--page {offset // limit + 2}" if offset % limit == 0 else f"--offset {offset + shown}"
        line += say("; next: {follow}", follow=follow)
    return line


@click.command()
@click.option("--limit", type=click.IntRange(min=1, max=MAX_PAGE),
              help=f"Items shown per list (default {LIST_PAGE}); each list gives its total.")
@click.option("--all", "everything", is_flag=True, help="Every item of every list.")
@click.pass_obj
def worklist(app: App, limit: int | None, everything: bool) -> None:
    """What waits for me, from the definitions' worklists."""
    from workflow.commands.present import summaries_text

    if everything and limit is not None:
        raise click.UsageError("--all shows every item: it takes no --limit")
    size = None if everything else (limit or LIST_PAGE)
    lists: list[Worklist] = app.engine.worklist(app.login, size)
    human = "\n\n".join(f"{wl.workflow_title} · {wl.title} ({wl.count})\n"
                        f"{summaries_text(wl.items)}"
                        + ("\n" + say("showing {first}–{last} of {total}", first=1, last=len(wl.items), total=wl.count)
                           + say("; all: --all") if wl.count > len(wl.items) else "")
                        for wl in lists) or say("nothing waits for you")
    app.emit({"login": app.login, "limit": size, "worklists": [wl.to_json() for wl in lists]}, human)


@click.command()
@click.argument("key", metavar="ITEM")
@click.pass_obj
def history(app: App, key: str) -> None:
    """The history of an item: who did what, when, with comments and changes."""
    from workflow.commands.present import history_text

    found: ItemHistory = app.engine.history(app.login, item_key(key))
    app.emit(found.to_json(), f"{found.key}  {found.title}\n{history_text(found.history)}")


@click.command()
@click.argument("key", metavar="ITEM")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="Write the documents to DIR.")
@click.option("--pdf", is_flag=True, help="Also convert them to PDF with LibreOffice (soffice).")
@click.pass_obj
def docs(app: App, key: str, export_dir: str | None, pdf: bool) -> None:
    """List an item's Word documents and attachments (附件), or export them (and PDFs)."""
    from pathlib import Path

    from workflow.commands.present import table
    from workflow.commands.progress import progress
    from workflow.documents.produce import ATTACHMENT, document_path, export
    found: ItemDocuments = app.engine.documents(app.login, item_key(key), with_bytes=bool(export_dir or pdf))
    rows = list(found.documents)
    data: dict[str, Any] = {"key": found.key, "documents": rows}
    if export_dir or pdf:
        folder = Path(export_dir) if export_dir else document_path(app.workspace, found.key)
        written = export(folder, rows, found.blobs)
        data["exported"] = [str(p) for p in written]
        if pdf:
            from workflow.documents.office import convert_to_pdf

            word = [Path(p) for p, row in zip(written, rows) if row.get("kind") != ATTACHMENT]
            with progress(app, say("converting to PDF"), None):
                data["pdf"] = [str(p) for p in convert_to_pdf(word, folder)]
    human = table([say("seq"), say("transition"), say("file"), "sha256", say("bytes")],
                  [[r["seq"], r["transition"], r["file"], r["sha256"][:12], r["size"]] for r in rows])
    for key_name in ("exported", "pdf"):
        if key_name in data:
            human += "\n" + say("{what}: {count} files in {folder}", what=key_name, count=len(data[key_name]),
                                 folder=folder)
    app.emit(data, human if rows else say("{key} has no documents yet", key=found.key))


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--signer", metavar="LOGIN", help="The signer, when the form does not name one legibly.")
@click.pass_obj
def ingest(app: App, files: tuple[str, ...], signer: str | None) -> None:
    """Apply returned approval forms (.docx files or folders) as the supervisor who signed."""
    from workflow.forms.ingest import ingest as ingest_files

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
