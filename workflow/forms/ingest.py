"""`gongwen ingest`: apply returned approval forms as the supervisor who signed them.

Each file is checked on its own (size, zip, token, content, already applied, stale, decision,
signer, and how the decision is authenticated: forms/signing.py) and applied in one transaction
with the returned file kept as evidence; a bad file changes nothing and does not stop the others."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.definition.model import COUNTERSIGN, FormSpec
from workflow.documents import docx_read, formtoken
from workflow.engine import registry, users
from workflow.errors import BadInput, Conflict, GongwenError, Refused
from workflow.forms import read as reader
from workflow.forms import signing
from workflow.inputs import read_regular_file
from workflow.store.blobs import store_blob
from workflow.store.orm import Event, FormReceipt, Item, User

if TYPE_CHECKING:
    from workflow.engine.engine import Engine

MAX_BYTES = 20 * 1024 * 1024  # a filled-in form is tens of KB; photos pasted in stay far below
MAX_UNPACKED = 200 * 1024 * 1024


def collect(paths: Iterable[str | Path]) -> list[Path]:
    """Files and folders (their .docx, sorted) in the order given."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() == ".docx" and p.is_file()))
        else:
            found.append(path)
    return found


def check_file(path: Path) -> bytes:
    blob = read_regular_file(path, MAX_BYTES, label="")  # never a FIFO or a device; the size checked first
    if path.suffix.lower() != ".docx" or not blob.startswith(b"PK"):
        raise BadInput("not a .docx file (Word 2007 or later)", reason="not_docx")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                raise BadInput("the .docx unpacks to more than 200 MB", reason="too_large")
            if archive.testzip() is not None or "word/document.xml" not in archive.namelist():
                raise BadInput("a corrupt .docx (damaged zip or no document part)", reason="corrupt")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # damaged deflate data, an unsupported compression method or an encrypted member
        raise BadInput("a corrupt .docx (not a readable zip)", reason="corrupt") from None
    try:
        body = docx_read.body(blob)
    except etree.XMLSyntaxError:
        body = None
    if body is None:
        raise BadInput("a corrupt .docx (the document part is not readable Word XML)", reason="corrupt")
    return blob


@dataclass
class Examined:
    """A returned form, verified and read: what it decides, for which item, by whom."""
    token: formtoken.Token
    item_id: int
    key: str
    revision: int
    creator: str
    earlier_actors: set[str]  # everyone who fired a transition on the item so far
    spec: FormSpec
    option: str
    why: str
    transition: str
    transition_title: str
    signature_required: bool
    login: str  # the signer
    opinion: str
    signed_on: str


def examine(engine: Engine, session: Session, blob: bytes, signer: str | None = None) -> Examined:
    """Verify a returned form (token, content, not yet applied, not stale) and read its decision
    and signer; refusals name what is wrong."""
    token, code, item, spec, returned = _verify(engine, session, blob)
    done = session.get(FormReceipt, token.form_id)
    if done is not None:
        raise Refused(f"form {token.form_id} was already applied by {done.applied_by} at {done.applied_at}",
                      reason="already_applied")
    if token.party:  # a 会签单 stays valid while other offices sign: only a new round makes it stale
        _check_round(session, token, item)
    elif item.version != token.revision:
        raise Conflict(
            f"stale form: it was made for revision {token.revision} of {item.key}, which has moved "
            f"since ({_last_change(session, item)}); print a new form", reason="stale")
    option, why = reader.decide(returned.cells.get(spec.decision_label, ""),
                               returned.cells.get(spec.opinion_label, ""), list(spec.decisions))
    if option is None:
        raise Refused(f"ambiguous decision: {why}", reason="ambiguous_decision")
    login = _signer(session, returned.cells.get(spec.signer_label, ""), signer)
    if token.party:  # that office's 同意 or 不同意 (gongwen countersign)
        transition, title, signature_required = COUNTERSIGN, "会签", False
    else:
        tr = registry.pinned(session, item.definition_hash).transitions[spec.decisions[option]]
        transition, title, signature_required = tr.id, tr.title, tr.signature_required
    actors = set(session.scalars(select(Event.actor).where(Event.item_id == item.id, Event.seq > 1)))
    return Examined(token, item.id, item.key, item.version, item.creator, actors, spec, option, why, transition,
                    title, signature_required, login,
                    returned.cells.get(spec.opinion_label, "").strip(),
                    returned.cells.get(spec.date_label, "").strip())


def _check_round(session: Session, token: formtoken.Token, item: Item) -> None:
    """A 会签单 is for the round opened by the event that handed it out: stale once the item has
    left that state (or entered it again)."""
    last_entry = session.scalars(select(Event.seq).where(Event.item_id == item.id, Event.to_state == item.state,
                                                         Event.from_state != item.state)
                                 .order_by(Event.seq.desc())).first()
    if last_entry != token.seq:
        raise Conflict(f"stale form: the 会签 it was made for ({item.key}, step {token.seq}) is over "
                       f"({_last_change(session, item)}); print a new form", reason="stale")


def ingest_one(engine: Engine, clerk: str, path: Path, signer: str | None = None) -> dict[str, Any]:
    blob = check_file(path)
    with engine.db.read() as session:
        seen = examine(engine, session, blob, signer)
        auth = signing.authenticate(session, blob, seen, users.actor(session, clerk))
    login, file_sha = seen.login, None

    def attach(session: Session, row: Item) -> dict[str, Any]:
        nonlocal file_sha
        file_sha = store_blob(session, blob, "evidence")
        session.add(FormReceipt(form_id=seen.token.form_id, item_id=row.id, file_sha256=file_sha,
                                applied_at=engine.now().isoformat(), applied_by=clerk))
        return {"form": {"id": seen.token.form_id, "file": path.name, "sha256": file_sha, "size": len(blob),
                         "decision": seen.option, "read_as": seen.why, "signer": login, "signed_on": seen.signed_on,
                         "ingested_by": clerk, "auth": auth.kind, **auth.record}}

    try:
        if seen.token.party:  # a 会签单: that office's opinion
            from workflow.engine import countersign

            view = countersign.record(engine, login, seen.key, seen.option, seen.opinion, seen.token.party,
                                      attach=attach, entered_by=auth.entered_by(clerk, login))
        else:
            view = engine.fire(login, seen.key, seen.transition, seen.opinion, expected_version=seen.revision,
                               attach=attach, entered_by=auth.entered_by(clerk, login))
    except IntegrityError:  # another clerk applied the same form a moment ago
        raise Refused(f"form {seen.token.form_id} was already applied", reason="already_applied") from None
    return {"file": str(path), "ok": True, "key": view.key, "decision": seen.option, "read_as": seen.why,
            "transition": seen.transition, "signer": login, "auth": auth.kind, "state": view.state,
            "state_title": view.state_title, "evidence_sha256": file_sha}


def _verify(engine: Engine, session: Session, blob: bytes
            ) -> tuple[formtoken.Token, reader.PrintedCode | None, Item, FormSpec, reader.ReturnedForm]:
    """The token (property and printed code), the item and the form spec; forged or altered
    forms are refused here."""
    probe = reader.read(blob, set())
    token, code = probe.token, probe.code
    if token is not None:
        key, seq, party = token.key, token.seq, token.party
    elif code is not None:
        key, seq, party = code[0], code[2], code[4]
    else:
        raise Refused("no gongwen 校验码 on this document: not a form made by gongwen", reason="forged")
    try:
        item = engine.get_item(session, key)
    except GongwenError:
        raise Refused(f"the 校验码 names {key}, which does not exist here: a forged form", reason="forged") from None
    event = session.scalars(select(Event).where(Event.item_id == item.id, Event.seq == seq)).first()
    definition = registry.pinned(session, item.definition_hash)
    if party:  # a 会签单, handed out by the event that opened the 会签
        state = definition.states.get(event.to_state) if event else None
        cosign = state.countersign if state is not None else None
        found = cosign.form_spec() if cosign is not None and cosign.form else None
    else:
        tr = definition.transitions.get(event.transition) if event else None
        found = tr.form if tr is not None else None
    if found is None:
        raise Refused(f"the 校验码 does not name an approval form of {key}: a forged form", reason="forged")
    spec = found
    secret = engine.ws.form_secret_in(session)  # the database's secret only (see Workspace.form_secret_in)
    content = formtoken.fixed_content_hash(blob, spec)
    if token is not None:
        if not _same(token.mac, formtoken.mac_for(secret, token.key, token.revision, token.seq, token.content,
                                                  token.party)):
            raise Refused("the form's token does not verify: a forged form", reason="forged")
        if code is not None and ((code[0], code[1], code[2], code[4]) != (token.key, token.revision, token.seq,
                                                                          token.party) or code[3] != token.mac[:20]):
            raise Refused("the printed 校验码 does not match the form's token: an altered form", reason="altered")
        if content != token.content:
            raise Refused("the form's fixed content (title, summary, figures) was changed after it was made",
                          reason="altered")
    else:  # the suite dropped the document properties: the printed code alone must verify
        assert code is not None  # (one of the two is there: see above)
        expected = formtoken.mac_for(secret, code[0], code[1], code[2], content, code[4])[:20]
        if not _same(code[3], expected):
            raise Refused("the 校验码 does not match the form's content: a forged form, or its title or "
                          "figures were changed", reason="forged")
        token = formtoken.Token(code[0], code[1], code[2], content, "", code[4])
    return token, code, item, spec, reader.read(blob, spec.fill_labels)


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.lower(), b.lower())


def _last_change(session: Session, item: Item) -> str:
    last = session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq.desc())).first()
    return f"changed by {last.actor} at {last.time}" if last else f"changed by {item.updated_by}"


def _signer(session: Session, written: str, given: str | None) -> str:
    """The signer: the user the form names (name or login), or --signer."""
    name = "".join(written.split())
    named = None
    if name:
        named = session.get(User, name) or session.scalars(select(User).where(User.name == name)).first()
    if given:
        chosen = users.actor(session, given)
        if named is not None and named.login != chosen.login:
            raise Refused(f"the form is signed by {named.name} ({named.login}), not {given}", reason="signer_mismatch")
        return chosen.login
    if named is None:
        what = f"names {written!r}, who is not a known user" if name else "names no signer"
        raise Refused(f"the form {what}: give --signer LOGIN", reason="unknown_signer")
    return named.login


def ingest(engine: Engine, clerk: str, paths: Iterable[str | Path], signer: str | None = None) -> list[dict[str, Any]]:
    """One result per file, in order: what was done, or why the file was refused (`ok` false)."""
    results = []
    for path in collect(paths):
        try:
            results.append(ingest_one(engine, clerk, path, signer))
        except GongwenError as exc:
            results.append({"file": str(path), "ok": False, "exit_code": exc.exit_code, **exc.to_json()})
    return results
