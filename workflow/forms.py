"""Approval forms: the HMAC token that makes a form unforgeable, and reading a returned form.

The token covers the item key, the item's revision, the form id (the item key and the event
number) and the sha256 of the form's fixed content: every table cell and paragraph except the
rows the supervisor fills in and the 校验码 line. It is kept twice: in the custom document
property `gongwen_token` (full, with the content hash) and as the printed 校验码 line
(`JH-2024-0007/r5/f3/<first 20 hex of the MAC>`), which survives suites that drop properties.

Fields are found by the labels of table cells, never by content-control tags alone: Debian's
LibreOffice 7.x removes every w:tag when it re-saves a .docx (and duplicates some control text)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

SECRET_NAME = "secret.key"
CODE_RE = re.compile(r"校验码\s*[:：]\s*([A-Z][A-Z0-9]*-\d{4}-\d+)\s*/\s*r(\d+)\s*/\s*f(\d+)\s*/\s*([0-9a-fA-F]{20})")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
CHECKED = set("☑☒■√✓✔✅▣◼●")
UNCHECKED = set("☐□○")
_SYMBOLS = {"F0FE": "☑", "F0FC": "✓", "F0FB": "✗", "F0A8": "☐", "F06F": "☐", "F078": "☒",
            "F052": "☑", "F054": "☒", "F0A3": "☐", "F050": "✓"}  # Wingdings / Wingdings 2
_SPACE = re.compile(r"\s+")


def workspace_secret(root: Path) -> bytes:
    """The workspace's HMAC key (made at init, mode 0600; made here for older workspaces)."""
    path = Path(root) / SECRET_NAME
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True)
class Token:
    key: str
    revision: int
    seq: int
    content: str  # sha256 of the fixed content
    mac: str

    @property
    def form_id(self) -> str:
        return f"{self.key}#{self.seq}"

    @property
    def code(self) -> str:
        return f"{self.key}/r{self.revision}/f{self.seq}/{self.mac[:20]}"

    def as_property(self) -> str:
        return json.dumps({"v": 1, "key": self.key, "rev": self.revision, "seq": self.seq,
                           "content": self.content, "mac": self.mac}, separators=(",", ":"))

    def as_context(self) -> dict:
        return {"id": self.form_id, "code": self.code, "token": self.as_property()}


def mac_for(secret: bytes, key: str, revision: int, seq: int, content: str) -> str:
    message = f"gongwen-form-v1|{key}|{revision}|{seq}|{content}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, key: str, revision: int, seq: int, content: str) -> Token:
    return Token(key, revision, seq, content, mac_for(secret, key, revision, seq, content))


def render_form(compiled, context: dict, secret: bytes, key: str, revision: int, seq: int, spec) -> tuple[bytes, dict]:
    """Render the form twice: once to learn its fixed content, once with the token in it.
    Returns the bytes and the context they were rendered from."""
    placeholder = {"id": f"{key}#{seq}", "code": "", "token": ""}
    first = compiled.render({**context, "form": placeholder})
    token = sign(secret, key, revision, seq, fixed_content_hash(first, spec))
    final_context = {**context, "form": token.as_context()}
    return compiled.render(final_context), final_context


# -- reading a .docx ---------------------------------------------------------------------------
def _norm(text: str) -> str:
    return _SPACE.sub("", text.replace("\u200b", ""))


def _body(blob: bytes):
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        document = archive.read("word/document.xml")
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True,
                                                      huge_tree=True)).find(f"{W}body")


def _text(element, decisions: bool = False) -> str:
    """Text of an element; with `decisions`, checkbox controls read as ☒/☐ and Wingdings
    symbols as the marks they show."""
    parts = []
    skip = set()
    for node in element.iter():
        if node in skip:
            continue
        if decisions and node.tag == f"{W}sdt":
            box = node.find(f"{W}sdtPr/{W14}checkbox")
            if box is not None:
                checked = box.find(f"{W14}checked")
                value = checked.get(f"{W14}val") if checked is not None else "0"
                parts.append("☒" if value in ("1", "true") else "☐")
                skip.update(node.iter())
                continue
        if node.tag == f"{W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{W}sym":
            parts.append(_SYMBOLS.get((node.get(f"{W}char") or "").upper(), ""))
        elif node.tag in (f"{W}tab", f"{W}br") or node.tag == f"{W}p" and parts:
            parts.append(" ")
    return "".join(parts)


def _rows(body):
    """Every table row (nested tables too) as its list of distinct cells."""
    for row in body.iter(f"{W}tr"):
        yield [cell for cell in row if cell.tag == f"{W}tc"]


def fixed_content_hash(blob: bytes, spec) -> str:
    """sha256 over the form's content a supervisor must not change."""
    body = _body(blob)
    pieces = []
    for element in body:
        if element.tag == f"{W}p":
            text = _norm(_text(element))
            if text and not text.startswith("校验码"):
                pieces.append(text)
        elif element.tag == f"{W}tbl":
            for cells in _rows(element):
                texts = [_norm(_text(c)) for c in cells]
                if not set(texts) & spec.fill_labels:
                    pieces.extend(t for t in texts if t)
    return hashlib.sha256("\x1f".join(pieces).encode()).hexdigest()


@dataclass
class ReturnedForm:
    token: Token | None  # from the document property
    code: tuple | None  # (key, revision, seq, mac20) from the printed line
    cells: dict  # label -> value text (decision row read with marks)


def read(blob: bytes, spec_for_labels: set) -> ReturnedForm:
    body = _body(blob)
    cells = {}
    for cells_in_row in _rows(body):
        for index, cell in enumerate(cells_in_row[:-1]):
            label = _norm(_text(cell))
            if label in spec_for_labels and label not in cells:
                cells[label] = _text(cells_in_row[index + 1], decisions=True).strip()
    match = CODE_RE.search(_text(body))
    code = (match.group(1), int(match.group(2)), int(match.group(3)), match.group(4).lower()) if match else None
    return ReturnedForm(token=_property_token(blob), code=code, cells=cells)


def _property_token(blob: bytes) -> Token | None:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            custom = archive.read("docProps/custom.xml")
        root = etree.fromstring(custom, etree.XMLParser(resolve_entities=False, no_network=True))
        for prop in root:
            if prop.get("name") == "gongwen_token":
                data = json.loads("".join(prop.itertext()))
                return Token(str(data["key"]), int(data["rev"]), int(data["seq"]), str(data["content"]),
                             str(data["mac"]))
    except (KeyError, ValueError, TypeError, etree.XMLSyntaxError):
        return None
    return None


# -- the decision ------------------------------------------------------------------------------
def _options_pattern(options) -> re.Pattern:
    names = sorted(set(options) | {"退回"}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


def _canonical(found: str, options) -> str:
    return next((o for o in options if o.startswith(found) or found.startswith(o)), found) \
        if found not in options else found


def _neighbour(text: str, index: int, step: int) -> str:
    while 0 <= index < len(text) and text[index].isspace():
        index += step
    return text[index] if 0 <= index < len(text) else ""


def decide(decision_text: str, opinion: str, options) -> tuple[str | None, str]:
    """The chosen option, or None with the reason: ticked (☑ ☒ ■ √ ✓ ✔ or a checked box),
    the only option left after deleting the others, or written in the opinion."""
    pattern = _options_pattern(options)
    present, marked = [], []
    for match in pattern.finditer(decision_text):
        option = _canonical(match.group(0), options)
        present.append(option)
        before = _neighbour(decision_text, match.start() - 1, -1)
        after = _neighbour(decision_text, match.end(), 1)
        if before in CHECKED or (before not in UNCHECKED and after in CHECKED):
            marked.append(option)
    written = list(dict.fromkeys(_canonical(m.group(0), options) for m in pattern.finditer(opinion)))
    marked = list(dict.fromkeys(marked))
    if len(marked) > 1:
        return None, f"two decisions are ticked: {'、'.join(marked)}"
    chosen = marked[0] if marked else None
    if chosen is None and len(set(present)) == 1 and len(options) > 1:
        chosen = present[0]  # the others were deleted
    if chosen is not None:
        if written and chosen not in written:
            return None, f"the form ticks {chosen} but the opinion says {'、'.join(written)}"
        return chosen, "ticked" if marked else "the other options were deleted"
    if len(written) == 1:
        return written[0], "written in the opinion"
    if len(written) > 1:
        return None, f"the opinion names several decisions: {'、'.join(written)}"
    return None, "no decision is ticked, kept alone or written in the opinion"
