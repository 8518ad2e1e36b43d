"""Documents of a transition: the render context, rendering inside the transition, content-
addressed storage in the same transaction as the event, and the files written after commit."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.canonical import canonical_json
from workflow.definition.model import ATTACH, Definition, Transition
from workflow.documents import ahead
from workflow.errors import BadInput
from workflow.store.blobs import store_blob, store_context
from workflow.store.orm import Event, Item, User

if TYPE_CHECKING:
    from workflow.store.workspace import Workspace


@dataclass
class Rendered:
    """What one unit of work rendered: document bytes by sha256, and the documents' records."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)


class Person(Protocol):
    """Who fires a transition, as a template names them (the engine's Actor; documents/ sits
    below engine/ and does not import it)."""

    login: str
    name: str
    title: str


CONTEXT_NAMES = frozenset({"item", "numbers", "event", "history", "settings", "params", "today", "form",
                           "deadline", "decision", "review", "countersign", "countersigner"})
ATTACHMENT = "attachment"  # the kind of an attachment's blob and of its row in item_documents (附件)
_UNDECLARED = {"overdue": "催办", "escalate": "督办上报"}  # gongwen tick's events (engine/tick.py)
_DATE_FORMS = re.compile(r"^\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?\s*$")


def _person(session: Session, login: str) -> tuple[str, str]:
    held = session.info.get("gongwen_users")  # engine/users.py HELD: the users the unit of work loaded
    user = held[login] if held and login in held else session.get(User, login)
    return (user.name, user.title) if user else (login, "")


def render_context(session: Session, workspace: Workspace, definition: Definition, item: Item, tr: Transition,
                   actor: Person, comment: str, now: dt.datetime, from_state: str,
                   earlier: list[Event], returned: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything a template may use; plain JSON, so it can be stored and rendered again. It is a
    function of the item, the event being recorded and the earlier events (and, for a decision
    applied from a returned form, of what that form says: `returned`, the event's `form` data),
    so the stored context re-renders the stored document byte for byte."""
    creator_name, _ = _person(session, item.creator)
    history = []
    for e in earlier:
        name, title = _person(session, e.actor)
        t = definition.transitions.get(e.transition)
        history.append({"transition": e.transition,
                        "transition_title": t.title if t else _UNDECLARED.get(e.transition, "创建"),
                        "actor": e.actor, "actor_name": name, "actor_title": title, "comment": e.comment,
                        "date": e.time[:10], "time": e.time})
    current = {"transition": tr.id, "from_state": from_state, "to_state": item.state, "actor": actor.login,
               "actor_name": actor.name, "actor_title": actor.title, "comment": comment,
               "date": now.date().isoformat(), "time": now.isoformat()}
    context: dict[str, Any] = {name: None for name in definition.fields}
    context.update(item.fields)
    context.update({
        "item": {"key": item.key, "title": item.title, "state": item.state,
                 "state_title": definition.state_title(item.state), "workflow": definition.id,
                 "workflow_title": definition.title, "creator": item.creator, "creator_name": creator_name},
        "numbers": dict(item.numbers),
        "event": {"transition": tr.id, "transition_title": tr.title, "actor": actor.login,
                  "actor_name": actor.name, "actor_title": actor.title, "comment": comment,
                  "from_state": from_state, "from_state_title": definition.state_title(from_state),
                  "to_state": item.state, "to_state_title": definition.state_title(item.state),
                  "date": now.date().isoformat(), "time": now.isoformat()},
        "history": history,
        "settings": settings_context(workspace, tr),
        "params": definition.params,
        "today": now.date().isoformat(),
        "decision": decision_context(definition, item.key, tr, current, earlier, returned),
        "review": review_context(session, definition, current, earlier),
        "countersign": countersign_context(session, definition, earlier),
        "countersigner": None,  # on a 会签单: the office or person it is for (engine/countersign.py)
    })
    return json.loads(canonical_json(context))


def settings_context(workspace: Workspace, tr: Transition) -> dict[str, Any]:
    """`settings`: the issuer of this step (issuer_name, issuer_code: the workspace's own unless the
    transition names another, issuer: city) and every issuer by id (`issuers.city.name`)."""
    issuer = workspace.issuer(tr.issuer)
    return {"issuer_name": issuer["name"], "issuer_code": issuer["code"], "issuer": issuer["id"],
            "issuers": workspace.issuers()}


def countersign_context(session: Session, definition: Definition, earlier: list[Event]) -> dict[str, Any] | None:
    """`countersign`: the latest 会签 round (the 稿纸's 会签 row): each countersigner with their
    opinion, signer and date (None while pending), and a one-line summary; None if there was none."""
    from workflow.definition import tally

    found = tally.latest_round(definition, earlier)
    if found is None:
        return None
    said = {o["party"]: o for o in found.opinions}
    rows = []
    for party in found.parties:
        o = said.get(party["id"])
        name, title = _person(session, o["actor"]) if o else ("", "")
        rows.append({"office": party["title"], "decision": o["decision"] if o else None,
                     "opinion": o["comment"] if o else "", "signer": o["actor"] if o else None,
                     "signer_name": name, "signer_title": title, "date": o["time"][:10] if o else None})
    summary = "；".join(f"{r['office']}：{r['decision']}" + (f"，{r['opinion']}" if r["opinion"] else "")
                       + f"（{r['signer_name']} {r['date']}）" for r in rows if r["decision"])
    return {"rows": rows, "summary": summary, "agreed": found.agreed, "disagreed": found.disagreed,
            "need": found.need, "pending": [p["title"] for p in found.pending]}


def _waiting_states(form_tr: Transition) -> set[str]:
    """Where an approval form waits for its decision: the state its transition leads to (or,
    for a transition that stays, the states it fires from)."""
    return {form_tr.target} if form_tr.target else set(form_tr.sources)


def decision_context(definition: Definition, key: str, tr: Transition, current: Mapping[str, Any],
                     earlier: list[Event], returned: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """`decision`, when the transition being recorded is a decision of the approval form the
    item waits on (签发, 审定…): the option taken and every option with its mark (☑ taken, ☐
    the others), the signer (the event's actor), the date and the 批示 (the event's comment);
    else None. The form is the latest handed out by an earlier event into the state the decision
    leaves and not decided yet (`form`: its id), or, if there is none (a decision entered with
    `gongwen do` without a form, or after a 复核…), the definition's form that waits there
    (`form` None). With `returned` (the `form` data of the event: what the returned form said),
    the date is the one the signer wrote, when it reads as a date (`signed_on` keeps it as
    written); else the event's date."""
    spec, form_id = None, None
    waits_in = current["from_state"]
    for e in reversed(earlier):
        t = definition.transitions.get(e.transition)
        if t is not None and t.form is not None and e.to_state == waits_in:
            if tr.id in t.form.decisions.values():
                spec, form_id = t.form, f"{key}#{e.seq}"
            break
        if e.from_state == waits_in and e.to_state != waits_in:
            break  # the item left that state since: the form handed out before was decided
    if spec is None:
        spec = next((t.form for t in definition.transitions.values() if t.form is not None
                     and waits_in in _waiting_states(t)
                     and tr.id in t.form.decisions.values()), None)
    if spec is None:
        return None
    option = next(o for o, target in spec.decisions.items() if target == tr.id)
    written = str((returned or {}).get("signed_on") or "").strip()
    match = _DATE_FORMS.match(written)
    date = current["date"]
    if match:
        try:
            date = dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            pass
    return {"option": option, "transition": tr.id, "label": spec.decision_label,
            "options": [{"option": o, "chosen": o == option, "mark": "☑" if o == option else "☐"}
                        for o in spec.decisions],
            "marks": "\u3000".join(("☑" if o == option else "☐") + o for o in spec.decisions),
            "signer": current["actor"], "signer_name": current["actor_name"],
            "signer_title": current["actor_title"], "opinion": current["comment"], "date": date,
            "signed_on": written, "form": form_id, "from_form": returned is not None}


def review_context(session: Session, definition: Definition, current: Mapping[str, Any],
                   earlier: list[Event]) -> dict[str, Any] | None:
    """`review`: the step that sent the item up for decision (核稿, 审核, 初审), the latest event,
    the one being recorded included, that moved the item into a state where an approval form
    waits, from a state that is neither such a state nor where a decision of that form leads
    (so a 复核退回签发人 after 签发 is not a 核稿): its transition, opinion (comment), actor and
    date. None before the item was first sent up."""
    waiting: set[str] = {sid for sid, st in definition.states.items() if st.countersign}  # 会签单 wait there
    decided: set[str] = set()
    for t in definition.transitions.values():
        if t.form is not None:
            waiting |= _waiting_states(t)
            for target in t.form.decisions.values():
                decision = definition.transitions.get(target)
                if decision is not None and decision.target:
                    decided.add(decision.target)
    steps: list[Mapping[str, Any]] = [current]
    steps += [{"transition": e.transition, "from_state": e.from_state, "to_state": e.to_state,
               "actor": e.actor, "comment": e.comment, "date": e.time[:10], "time": e.time}
              for e in reversed(earlier)]
    for step in steps:
        if step["to_state"] in waiting and step["from_state"] not in waiting | decided | {None}:
            if "actor_name" in step:
                name, title = step["actor_name"], step["actor_title"]
            else:
                name, title = _person(session, step["actor"])
            t = definition.transitions.get(step["transition"])
            return {"transition": step["transition"], "transition_title": t.title if t else step["transition"],
                    "opinion": step["comment"] or "", "actor": step["actor"], "actor_name": name,
                    "actor_title": title, "date": step["date"], "time": step["time"]}
    return None


def render_transition(session: Session, workspace: Workspace, definition: Definition, item: Item,
                      tr: Transition, seq: int, context: dict[str, Any], rendered: dict[str, bytes],
                      revision: int) -> list[dict[str, Any]]:
    """Render every template of the transition and store bytes, template and context (the
    document bytes also go into `rendered`, for the files written after commit); a
    TemplateError propagates and the caller's transaction rolls back."""
    from workflow.documents.renderer import MAX_TEMPLATE_BYTES, compile_template
    from workflow.inputs import read_regular_file

    if not tr.templates:
        return []
    context_sha = store_context(session, context)
    context_key = ahead.context_key(context)
    produced = []
    for name in tr.templates:
        path = template_path(workspace, definition.id, name)
        template_bytes = read_regular_file(path, MAX_TEMPLATE_BYTES, label=f"{definition.id}/{name}")
        compiled = compile_template(template_bytes, f"{definition.id}/{name}")
        data, form_context = ahead.render(compiled, context, context_key, hashlib.sha256(template_bytes).hexdigest(),
                                     lambda: workspace.form_secret_in(session), item, revision, seq, tr, name)
        # the approval form is signed for this revision: its own context
        doc_context_sha = store_context(session, form_context) if form_context is not None else context_sha
        rendered[hashlib.sha256(data).hexdigest()] = data
        file = document_filename(item.key, seq, tr.title, name)
        document_path(workspace, item.key, file)  # refused here, inside the transaction: nothing commits
        produced.append({
            "name": Path(name).stem, "file": file,
            "sha256": store_blob(session, data, "docx"), "size": len(data),
            "template": name, "template_sha256": store_blob(session, template_bytes, "template"),
            "context_sha256": doc_context_sha,
            **({"form_id": f"{item.key}#{seq}"} if tr.form and name == tr.form.template else {}),
        })
    return produced


def document_filename(key: str, seq: int, transition_title: str, template: str) -> str:
    """JH-2024-0007_03_签发_发文稿纸.docx"""
    safe = lambda text: re.sub(r'[\\/:*?"<>|\s，。]+', "", text)
    return f"{key}_{seq:02d}_{safe(transition_title)}_{safe(Path(template).stem)}.docx"


def _unsafe(path: str, where: Path) -> BadInput:
    return BadInput(f"refusing to write {path}: it resolves outside {where}", reason="unsafe_path", path=path)


def template_path(workspace: Workspace, workflow_id: str, name: str) -> Path:
    """templates_docx/<workflow>/<name>; a name that could leave that folder is refused (the
    loader refuses such names; this guards definitions read back from the database)."""
    parts = Path(name).parts
    if Path(name).is_absolute() or len(parts) == 0 or ".." in parts or "\x00" in name:
        raise BadInput(f"{workflow_id}/{name}: a template name must stay inside templates_docx/{workflow_id}/",
                       reason="unsafe_path")
    return workspace.templates_dir / workflow_id / name


def document_path(workspace: Workspace, key: str, file: str | None = None) -> Path:
    """documents/<key>/ (or documents/<key>/<file>), checked, resolved (symbolic links too), to
    lie inside the workspace's documents/ folder (the file directly in documents/<key>/);
    BadInput (reason unsafe_path) if not."""
    documents = (workspace.root / "documents").resolve()
    shown = f"documents/{key}" + (f"/{file}" if file is not None else "")
    if "\x00" in shown:
        raise _unsafe(repr(shown), documents)
    folder = (documents / key).resolve()
    if documents not in folder.parents:
        raise _unsafe(shown, documents)
    if file is None:
        return workspace.root / "documents" / key
    if (folder / file).resolve().parent != folder:
        raise _unsafe(shown, documents / key)
    return workspace.root / "documents" / key / file


def check_writable(workspace: Workspace, key: str | None = None) -> None:
    """Before a write transaction: documents/<key>/ (or documents/) can be made and written, so
    that a folder that cannot take the files refuses the transition before anything changes. A
    probe file, not os.access: as root only a real write sees an immutable folder."""
    import tempfile

    from workflow.errors import os_fault

    folder = document_path(workspace, key) if key else workspace.root / "documents"
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(existing))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:  # named by the folder, not the probe's random name
        raise os_fault(OSError(exc.errno, exc.strerror, str(existing))) from None


def write_files_after_commit(workspace: Workspace, key: str, what: str, documents: list[dict[str, Any]],
                             blobs: dict[str, bytes]) -> tuple[list[Path], str | None]:
    """write_files once the transaction has committed: a failure now is a warning, never an error
    (what is recorded stays recorded; `gongwen docs KEY --export DIR` writes the files again)."""
    from workflow.errors import os_fault

    try:
        return write_files(workspace, key, documents, blobs), None
    except OSError as exc:
        return [], (f"{what} was recorded, but its documents could not be written: {os_fault(exc).message}; "
                    f"once that is fixed, `gongwen docs {key} --export DIR` writes them")


def write_files(workspace: Workspace, key: str, documents: list[dict[str, Any]],
                blobs: dict[str, bytes]) -> list[Path]:
    """After commit: the files under documents/<key>/ (written atomically). Every path is checked
    (document_path) before anything is created or written."""
    folder = document_path(workspace, key)
    targets = [document_path(workspace, key, doc["file"]) for doc in documents]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for doc, target in zip(documents, targets):
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(blobs[doc["sha256"]])
        os.replace(temporary, target)
        written.append(target)
    return written


def export(folder: Path, rows: list[dict[str, Any]], blobs: Mapping[str, bytes | None]) -> list[Path]:
    """Write documents (from the database) to a folder, under their readable names. Each file
    must land directly in that folder (resolved, symbolic links too), or nothing is written."""
    resolved = folder.resolve()
    for row in rows:
        name = str(row["file"])
        if "\x00" in name or (resolved / name).resolve().parent != resolved:
            raise _unsafe(repr(name), folder)
    files = []
    for row in rows:
        data = blobs[row["sha256"]]
        if data is None:  # a blob deleted behind gongwen's back
            raise BadInput(f"{row['file']}: its bytes ({row['sha256'][:12]}) are missing from the database; "
                           "run `gongwen audit verify`")
        files.append((folder / row["file"], data))
    from workflow.errors import os_fault
    from workflow.inputs import write_all

    made = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_fault(exc) from None
    write_all(files, folder if made else None)  # every file whole, or none (a full disk leaves nothing)
    return [target for target, _ in files]


def item_documents(session: Session, item: Item) -> list[dict[str, Any]]:
    """An item's files by event, oldest first: its documents, the returned approval forms kept as
    evidence, and its attachments (附件, kind ATTACHMENT), each with the name it is exported under."""
    rows = []
    for event in session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)):
        if event.transition == ATTACH:
            for record in (event.data or {}).get("attachments") or []:
                rows.append({**record, "kind": ATTACHMENT, "file": f"{item.key}_{event.seq:02d}_附件_{record['name']}",
                             "seq": event.seq, "transition": event.transition, "time": event.time,
                             "actor": event.actor})
        for doc in (event.data or {}).get("documents", []):
            rows.append({**doc, "kind": "document", "seq": event.seq, "transition": event.transition,
                         "time": event.time, "actor": event.actor})
        form = (event.data or {}).get("form")
        if form:  # the returned approval form, kept as evidence
            rows.append({"kind": "evidence", "name": "returned form", "sha256": form["sha256"],
                         "file": f"{item.key}_{event.seq:02d}_returned_{Path(form['file']).name}",
                         "size": form.get("size"), "seq": event.seq, "transition": event.transition,
                         "time": event.time, "actor": event.actor})
    return rows
