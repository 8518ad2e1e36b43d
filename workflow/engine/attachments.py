"""Attachments (附件, 佐证材料): files kept with an item, content-addressed in the blobs table,
named by ONE signed event per command (transition `attach`, staying in the state: it changes
neither the item's fields nor its revision). The event's data lists each file: name, sha256,
size, media type, and the field it documents (`findings.2.evidence`) with the note.

Who may attach: the item's creator, and whoever may act on it now: a role on a transition out of
its current state (a 会签 state: a countersigner still to answer). A voided or finished (final)
item takes none (item_closed).

What is taken (checked before the write lock; one clear line, exit 4, nothing stored): at most
MAX_FILES regular, non-empty files, each at most MAX_FILE_BYTES and MAX_TOTAL_BYTES together,
named plainly (no path separator, colon or control character), of a type on the allow-list,
recognised by its content and matching its extension: PDF, OFD, Word/Excel/PowerPoint (docx,
xlsx, pptx without macros; doc, xls, ppt, wps, et), JPEG, PNG, TIFF. Executables, archives (zip:
what is inside cannot be checked) and files whose extension lies about their content are refused."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from workflow import inputs
from workflow.definition.model import ATTACH, SYSTEM_USER, VOIDED, Definition
from workflow.documents import produce as documents
from workflow.engine import countersign, guards
from workflow.engine.guards import Actor
from workflow.errors import BadInput, Refused
from workflow.store.blobs import store_blob
from workflow.store.orm import Item

if TYPE_CHECKING:
    from workflow.engine.engine import Engine

KIND = documents.ATTACHMENT  # the blobs' kind
MAX_FILES = 20
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_NAME_BYTES = 255
_UNSAFE_NAME = re.compile(r'[/\\:\x00-\x1f\x7f-\x9f]')

_OOXML = "application/vnd.openxmlformats-officedocument."
TYPES = {  # extension -> (media type, the content it must have)
    "pdf": ("application/pdf", "pdf"), "ofd": ("application/ofd", "ofd"),
    "docx": (_OOXML + "wordprocessingml.document", "docx"), "xlsx": (_OOXML + "spreadsheetml.sheet", "xlsx"),
    "pptx": (_OOXML + "presentationml.presentation", "pptx"),
    "doc": ("application/msword", "ole"), "xls": ("application/vnd.ms-excel", "ole"),
    "ppt": ("application/vnd.ms-powerpoint", "ole"), "wps": ("application/kswps", "ole"),
    "et": ("application/kset", "ole"),
    "jpg": ("image/jpeg", "jpeg"), "jpeg": ("image/jpeg", "jpeg"), "png": ("image/png", "png"),
    "tif": ("image/tiff", "tiff"), "tiff": ("image/tiff", "tiff"),
}
CONTENT = {"pdf": "a PDF", "ofd": "an OFD document", "docx": "a Word document", "xlsx": "an Excel workbook",
           "pptx": "a PowerPoint file", "ole": "an Office 97-2003 (OLE) file", "jpeg": "a JPEG image",
           "png": "a PNG image", "tiff": "a TIFF image", "zip": "a zip archive", "executable": "an executable program",
           "macros": "an Office file with macros", "damaged": "a damaged zip/Office file", None: "of an unknown type"}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
               b"\xca\xfe\xba\xbe", b"#!", b"\x00asm", b"dex\n")
_OOXML_PARTS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx"),
                ("OFD.xml", "ofd"))


def sniff(data: bytes) -> str | None:
    """What the bytes are (a key of CONTENT), from their content alone."""
    if data.startswith(_EXECUTABLE):
        return "executable"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())  # the directory only: nothing inflated
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            return "damaged"
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            return "macros"
        return next((kind for part, kind in _OOXML_PARTS if part in names), "zip")
    return None


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    media_type: str


def read_files(paths: Sequence[str]) -> list[Upload]:
    """The files given, read and checked (names, count, sizes, types), or BadInput for the first
    that does not pass."""
    if not paths:
        raise BadInput("no file to attach", reason="no_files")
    if len(paths) > MAX_FILES:
        raise BadInput(f"{len(paths)} files: at most {MAX_FILES} can be attached at once", reason="too_many_files")
    found: list[Upload] = []
    total = 0
    for path in paths:
        name = os.path.basename(os.fspath(path).rstrip("/" + os.sep)) or os.fspath(path)
        if _UNSAFE_NAME.search(name) or name in (".", "..") or inputs.text_problem(name, multiline=False):
            raise BadInput(f"{name!r}: a file name with a path separator, colon or control character cannot be "
                           "attached: rename it", reason="bad_file_name")
        if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise BadInput(f"{name[:40]}...: the file name is longer than {MAX_NAME_BYTES} bytes: rename it",
                           reason="bad_file_name")
        if any(u.name == name for u in found):
            raise BadInput(f"{name}: given twice (two files of one name): rename one", reason="duplicate_file")
        data = inputs.read_regular_file(path, MAX_FILE_BYTES, name)
        if not data:
            raise BadInput(f"{name}: the file is empty", reason="empty_file")
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise BadInput(f"{name}: the files together exceed {MAX_TOTAL_BYTES // 1048576} MB: attach them in several "
                           "commands", reason="too_large")
        found.append(Upload(name, data, _media_type(name, data)))
    return found


def _media_type(name: str, data: bytes) -> str:
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    content = sniff(data)
    if content in ("executable", "zip", "macros", "damaged", None):
        raise BadInput(f"{name}: {CONTENT[content]} cannot be attached (accepted: {', '.join(sorted(TYPES))})",
                       reason="bad_file_type", content=content)
    expected = TYPES.get(ext)
    if expected is None or expected[1] != content:
        says = f"its extension .{ext} says otherwise" if ext else "it has no extension"
        raise BadInput(f"{name}: the file is {CONTENT[content]} but {says}: rename it to what it is",
                       reason="bad_file_type", content=content)
    return expected[0]


def check_field(definition: Definition, item: Item, path: str) -> str:
    """`path` names a field of the item: `name`, or in a list `name.N` or `name.N.sub` (N from 1)."""
    inputs.check_text(path, "--field", multiline=False, limit=inputs.MAX_KEY_CHARS)
    name, _, rest = path.partition(".")
    spec = definition.fields.get(name)
    if spec is None:
        raise BadInput(f"--field {path}: {definition.id} has no field {name!r} "
                       f"(fields: {', '.join(definition.fields)})", reason="bad_field")
    if rest:
        index, _, sub = rest.partition(".")
        count = len(item.fields.get(name) or []) if spec.type == "list" else 0
        if spec.type != "list" or not (index.isdigit() and 1 <= int(index) <= count):
            raise BadInput(f"--field {path}: {name} ({spec.label}) " + (f"has {count} records; use 1..{count}"
                           if spec.type == "list" else "is not a list"), reason="bad_field")
        if sub and sub not in spec.record:
            raise BadInput(f"--field {path}: {spec.label} has no field {sub!r} (its fields: {', '.join(spec.record)})",
                           reason="bad_field")
    return path


def may_attach(engine: Engine, session: Session, definition: Definition, item: Item, actor: Actor) -> bool:
    """The creator, a holder of a role on a hand-fired exit of the current state (of the item's
    unit, for a role scoped to one), or a countersigner still to answer."""
    if actor.login == item.creator:
        return True
    roles = set(actor.roles_on(item.creator))
    for tr in definition.exits(item.state):
        if tr.automatic or tr.outcome_of or tr.timer:
            continue
        if (not tr.roles or roles & set(tr.roles)) and not guards.unit_refusal(definition, tr.id, actor, item.fields):
            return True
    return (countersign.spec_of(definition, item.state) is not None
            and countersign.waiting_for(definition, item, engine.events_of(session, item), actor))


@dataclass(frozen=True)
class Attached:
    """What `gongwen attach` did: the event (its seq) and the files it names."""
    key: str
    title: str
    state: str
    state_title: str
    seq: int
    files: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "state": self.state, "state_title": self.state_title,
                "seq": self.seq, "attachments": list(self.files)}


def attach(engine: Engine, login: str, key: str, paths: Sequence[str], field: str | None = None,
           note: str = "") -> Attached:
    """`gongwen attach ITEM FILE... [--field F] [-m NOTE]` as `login`, proven by their key."""
    note = inputs.check_text((note or "").strip(), "the note", multiline=True, limit=inputs.MAX_TEXT_BYTES)
    if login == SYSTEM_USER:
        raise Refused(f"{SYSTEM_USER} (the system user) attaches nothing", reason="role_missing")
    inputs.check_item_key(key)
    uploads = read_files(paths)  # before the lock: reading and checking the files
    signer = engine._signer(login)  # and the key: a missing one changes nothing
    now = engine.now()
    with engine.db.write() as session:
        item, definition, actor, _ = engine._open(session, key, login, None, signer, now, None)
        state = definition.states.get(item.state)
        if item.state == VOIDED or state is None or state.final:
            raise Refused(f"{item.key} is {definition.state_title(item.state)} ({item.state}): closed, it takes no "
                          "attachments", reason="item_closed", state=item.state)
        if not may_attach(engine, session, definition, item, actor):
            raise Refused(f"{actor.login} may not attach files to {item.key} in {item.state} "
                          f"({definition.state_title(item.state)}): only its creator or whoever may act on it now",
                          reason="role_missing")
        field = check_field(definition, item, field) if field else ""
        files = tuple({"name": u.name, "sha256": store_blob(session, u.data, KIND), "size": len(u.data),
                       "media_type": u.media_type, "field": field, "note": note} for u in uploads)
        event = engine._append_event(session, signer, item, definition, ATTACH, item.state, actor, note, {},
                                     {"attachments": list(files)}, now)
        return Attached(item.key, item.title, item.state, definition.state_title(item.state), event.seq, files)
