"""Reading a returned approval form: its token (document property and printed 校验码), the
cells the supervisor filled in, and the decision they mark.

Fields are found by the labels of table cells, never by content-control tags alone: Debian's
LibreOffice 7.x removes every w:tag when it re-saves a .docx (and duplicates some control text)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Collection
from dataclasses import dataclass

from lxml import etree

from workflow.documents import docx_read
from workflow.documents.docx_read import CHECKED, UNCHECKED
from workflow.documents.formtoken import Token

PrintedCode = tuple[str, int, int, str]  # the 校验码 line: key, revision, seq, the first 20 hex of the MAC
CODE_RE = re.compile(r"校验码\s*[:：]\s*([A-Z][A-Z0-9]*-\d{4}-\d+)\s*/\s*r(\d+)\s*/\s*f(\d+)\s*/\s*([0-9a-fA-F]{20})")


@dataclass
class ReturnedForm:
    token: Token | None  # from the document property
    code: PrintedCode | None  # from the printed line
    cells: dict[str, str]  # label -> value text (decision row read with marks)


def read(blob: bytes, spec_for_labels: Collection[str]) -> ReturnedForm:
    body = docx_read.body(blob)
    cells = {}
    for cells_in_row in docx_read.rows(body):
        for index, cell in enumerate(cells_in_row[:-1]):
            label = docx_read.norm(docx_read.text(cell))
            if label in spec_for_labels and label not in cells:
                cells[label] = docx_read.text(cells_in_row[index + 1], decisions=True).strip()
    match = CODE_RE.search(docx_read.text(body))
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
def _options_pattern(options: Collection[str]) -> re.Pattern[str]:
    names = sorted(set(options) | {"退回"}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


def _canonical(found: str, options: Collection[str]) -> str:
    return next((o for o in options if o.startswith(found) or found.startswith(o)), found) \
        if found not in options else found


def _neighbour(text: str, index: int, step: int) -> str:
    while 0 <= index < len(text) and text[index].isspace():
        index += step
    return text[index] if 0 <= index < len(text) else ""


def decide(decision_text: str, opinion: str, options: Collection[str]) -> tuple[str | None, str]:
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
