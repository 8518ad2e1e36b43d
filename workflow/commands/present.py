"""Human-readable output for the terminal: tables that align Chinese text, items, histories."""

from __future__ import annotations

import json
import shutil
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workflow.i18n import Named, say

if TYPE_CHECKING:
    from workflow.commands.app import App
    from workflow.definition.fields import Field
    from workflow.engine.views import EventView, ItemSummary, ItemView


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * max(0, size - width(text))


def table(headers: list[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell (Chinese counted as two); on a terminal, a rich table
    with its header in bold: the same cells, easier to read."""
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    if sys.stdout.isatty():
        return _rich_table(headers, cells)
    sizes = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(pad(h, s) for h, s in zip(headers, sizes)).rstrip(),
             "  ".join("-" * s for s in sizes)]
    lines += ["  ".join(pad(c, s) for c, s in zip(r, sizes)).rstrip() for r in cells]
    return "\n".join(lines)


def _rich_table(headers: list[str], cells: list[list[str]]) -> str:
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    shown = Table(*(Column(Text(h)) for h in headers), header_style="bold", box=None, pad_edge=False)
    for row in cells:  # Text: a cell is shown as it is, never read as rich markup ([重要] stays)
        shown.add_row(*(Text(c) for c in row))
    console = Console(force_terminal=True, width=shutil.get_terminal_size().columns)
    with console.capture() as captured:
        console.print(shown)
    return captured.get().rstrip("\n")


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def item_text(view: ItemView) -> str:
    lines = [f"{view.key}  {view.title}",
             "  " + say("workflow: {workflow}   state: {state}   version: {version}",
                        workflow=Named.of(view.workflow, view.workflow_title),
                        state=Named.of(view.state, view.state_title), version=view.version),
             "  " + say("created by {creator} at {created}; last change by {updater} at {updated}",
                        creator=view.creator, created=view.created_at, updater=view.updated_by,
                        updated=view.updated_at)]
    for name, number in view.numbers.items():
        lines.append("  " + say("number {name}: {number}", name=name, number=number))
    lines.append("  " + say("fields:"))
    labels = view.field_labels
    for name, value in view.fields.items():
        label = labels.get(name, name)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"    {label} ({name}): " + say("{count} records", count=len(value)))
            for index, record in enumerate(value, 1):
                text = "；".join(f"{k}={value_text(v)}" for k, v in record.items() if v not in (None, ""))
                lines.append(f"      {index}. {text}")
        else:
            lines.append(f"    {label} ({name}): {value_text(value)}")
    if view.countersign is not None:
        lines.extend(countersign_lines(view.countersign))
    if view.worklists:
        lists = "，".join(f"{w.title} ({w.id})" for w in view.worklists)
        lines.append("  " + say("on worklists: {lists}", lists=lists))
    if view.allowed:
        lines.append("  " + say("you may: {transitions}", transitions=", ".join(
            f"{a.id} ({a.title} → {a.to_title}{say('; -m required') if a.comment_required else ''})"
            for a in view.allowed)))
    else:
        lines.append("  " + say("you may: nothing now"))
    if view.history is not None:
        lines.append("  " + say("history:"))
        lines.append(history_text(view.history, indent="    "))
    return "\n".join(lines)


def countersign_lines(block: dict[str, Any]) -> list[str]:
    """The open 会签: each countersigner's opinion, signer and date, and who has yet to sign."""
    veto = say("vetoes") if block["disagree"] == "veto" else say("counts against")
    lines = ["  " + say("会签 (countersign): {agreed} agreed, {disagreed} disagreed; needs {quorum}; 不同意 {veto}",
                        agreed=block["agreed"], disagreed=block["disagreed"], quorum=block["quorum"], veto=veto)]
    for row in block["parties"]:
        if row["decision"]:
            said = f"：{row['opinion']}" if row["opinion"] else ""
            lines.append(f"    {row['party_title']}: {row['decision']}{said} — {row['signer_name']} ({row['signer']}) "
                         f"{row['date']}")
        else:
            lines.append(f"    {row['party_title']}: " + say("yet to sign"))
    if block["pending"]:
        lines.append("  " + say("yet to sign: {pending}", pending="、".join(block["pending"])))
    return lines


FieldsOf = Callable[[str], "Mapping[str, Field] | None"]  # a definition version's hash -> its fields


def history_text(events: Sequence[EventView], indent: str = "", fields_of: FieldsOf | None = None) -> str:
    """The events one by one; under each (but the creation) its field changes, one line each in
    the words of the event's definition version (`fields_of`; by default read from the running
    command's workspace): 存在问题及整改要求 第2项 问题描述：旧 → 新."""
    from workflow.definition.diff import field_changes

    fields_of = fields_of or workspace_fields()
    lines = []
    for e in events:
        move = (f"{e.from_state} ({e.from_title}) → {e.to_state} ({e.to_title})" if e.from_state
                else f"→ {e.to_state} ({e.to_title})")
        lines.append(f"{indent}{e.seq:>3}. {e.time}  {actor_text(e)} [{','.join(e.roles)}]  "
                     f"{e.transition} ({e.transition_title})  {move}")
        lines.append(f"{indent}       {signed_text(e)}")
        if e.comment:
            lines.append(f"{indent}       " + say("comment: {comment}", comment=e.comment))
        if e.changes and e.transition != "create":
            lines.extend(f"{indent}       {change.text}"
                         for change in field_changes(fields_of(e.definition_version), e.changes))
        opinion = e.data.get("countersign") if e.transition == "countersign" else None
        if isinstance(opinion, dict):
            lines.append(f"{indent}       {opinion.get('party_title')}: {opinion.get('decision')}")
        for name, number in (e.data.get("numbers") or {}).items():
            lines.append(f"{indent}       " + say("number {name}: {number}", name=name, number=number))
        for doc in e.data.get("documents") or []:
            lines.append(f"{indent}       " + say("document {file}  sha256 {sha256}", file=doc["file"],
                                                  sha256=doc["sha256"][:16]))
    return "\n".join(lines)


def workspace_fields() -> FieldsOf:
    """The fields of a definition version, read (once per version) from the workspace of the
    command that runs; None outside a command or for a version that cannot be read (the changes
    are then labelled with the fields' names)."""
    import click

    from workflow.commands.app import App

    context = click.get_current_context(silent=True)
    app = context.find_object(App) if context is not None else None
    found: dict[str, Mapping[str, Field] | None] = {}

    def fields_of(version: str) -> Mapping[str, Field] | None:
        if version not in found:
            found[version] = _read_fields(app, version) if app is not None else None
        return found[version]

    return fields_of


def _read_fields(app: App, version: str) -> Mapping[str, Field] | None:
    from workflow.engine import registry
    from workflow.errors import GongwenError

    try:
        with app.workspace.db.read() as session:
            return registry.pinned(session, version).fields
    except GongwenError:
        return None


def actor_text(e: EventView) -> str:
    """The actor, and on whose behalf under which delegation (委托) when the event says so."""
    found = e.data.get("delegation") if isinstance(e.data, dict) else None
    if isinstance(found, dict):
        return say("{actor} on behalf of {principal} under delegation #{id}", actor=e.actor,
                   principal=found.get("principal"), id=found.get("id"))
    return e.actor


def signed_text(e: EventView) -> str:
    """Who signed the event and whether the signature verifies; 代录 when entered for the actor."""
    if e.signature == "unsigned":
        return say("unsigned (recorded by an older release)")
    if e.signature == "unknown_key":
        return say("signed with a key no one registered: NOT VERIFIED")
    on_behalf = ""
    if e.entry == "signed":
        verdict = say("form signature verifies") if e.form_signature == "valid" \
            else say("FORM SIGNATURE DOES NOT VERIFY")
        on_behalf = say(" (the decision signed on the form by {actor}: {verdict})", actor=e.actor, verdict=verdict)
    elif e.signed_by and e.signed_by != e.actor:
        on_behalf = say(" (代录: entered on behalf of {actor}, from the returned form)", actor=e.actor)
    return say("signed by {signer}{on_behalf}: {verdict}", signer=e.signed_by, on_behalf=on_behalf,
               verdict=say("signature verifies") if e.signature == "valid" else say("SIGNATURE DOES NOT VERIFY"))


def summaries_text(items: Sequence[ItemSummary]) -> str:
    if not items:
        return say("(no items)")
    return table([say("key"), say("workflow"), say("state"), say("title"), say("updated")],
                 [[i.key, i.workflow_title, f"{i.state} ({i.state_title})",
                   i.title, f"{i.updated_by} {i.updated_at[:16]}"] for i in items])
