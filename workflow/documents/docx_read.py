"""Reading the text of a .docx the way its reader sees it: paragraphs, table rows and cells,
with checkbox content controls and Wingdings symbols read as the marks they show."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
CHECKED = set("☑☒■√✓✔✅▣◼●")
UNCHECKED = set("☐□○")
_SYMBOLS = {"F0FE": "☑", "F0FC": "✓", "F0FB": "✗", "F0A8": "☐", "F06F": "☐", "F078": "☒",
            "F052": "☑", "F054": "☒", "F0A3": "☐", "F050": "✓"}  # Wingdings / Wingdings 2
_PRIVATE = str.maketrans({chr(int(code, 16)): mark for code, mark in _SYMBOLS.items()})  # typed in the font
_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    return _SPACE.sub("", text.replace("\u200b", ""))


def body(blob: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        document = archive.read("word/document.xml")
    return body_of(document)


def body_of(document_xml: bytes) -> etree._Element:
    """The w:body of a word/document.xml."""
    return etree.fromstring(document_xml, etree.XMLParser(resolve_entities=False, no_network=True,
                                                          huge_tree=True)).find(f"{W}body")


def text(element: etree._Element, decisions: bool = False) -> str:
    """Text of an element; with `decisions`, checkbox controls read as ☒/☐ and Wingdings
    symbols as the marks they show."""
    parts: list[str] = []
    skip: set[etree._Element] = set()
    for node in element.iter():
        if node in skip:
            continue
        if decisions and node.tag == f"{W}sdt":
            box = node.find(f"{W}sdtPr/{W14}checkbox")
            if box is not None:
                parts.append(_checkbox(node, box))
                skip.update(node.iter())
                continue
        if node.tag == f"{W}t" and node.text:
            parts.append(node.text.translate(_PRIVATE) if decisions else node.text)
        elif node.tag == f"{W}sym":
            parts.append(_SYMBOLS.get((node.get(f"{W}char") or "").upper(), ""))
        elif node.tag in (f"{W}tab", f"{W}br") or node.tag == f"{W}p" and parts:
            parts.append(" ")
    return "".join(parts)


def _checkbox(sdt: etree._Element, box: etree._Element) -> str:
    """A checkbox content control read as ☒ or ☐ by the glyph it shows, which is what the signer
    saw: an editor without checkbox controls (WPS, LibreOffice 7) lets them type ☑ over ☐ and
    leaves w14:checked at 0. The flag counts only when the control shows no box glyph at all."""
    own = {}  # the control's own glyphs (w14:checkedState / uncheckedState), e.g. ☒ or Wingdings 2
    for state, mark in (("uncheckedState", "☐"), ("checkedState", "☒")):
        value = box.find(f"{W14}{state}")
        code = (value.get(f"{W14}val") or "") if value is not None else ""
        if re.fullmatch(r"[0-9A-Fa-f]{1,4}", code) and int(code, 16) > 0x20:
            own[chr(int(code, 16))] = own[chr(0xF000 | int(code, 16) % 0x100)] = mark  # as typed, or in the font
    content = sdt.find(f"{W}sdtContent")
    shown = text(content, decisions=True) if content is not None else ""
    glyphs = "".join("☒" if c in CHECKED else "☐" if c in UNCHECKED else own.get(c, "") for c in shown)
    if glyphs:
        return glyphs
    checked = box.find(f"{W14}checked")
    return "☒" if checked is not None and checked.get(f"{W14}val") in ("1", "true") else "☐"


def rows(body: etree._Element) -> Iterator[list[etree._Element]]:
    """Every table row (nested tables too) as its list of distinct cells."""
    for row in body.iter(f"{W}tr"):
        yield [cell for cell in row if cell.tag == f"{W}tc"]
