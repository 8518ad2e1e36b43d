"""Custom document properties (docProps/custom.xml): read them, and set one in a copy of a .docx.
Word, WPS and LibreOffice keep custom properties when they re-save a document (File >
Properties > Custom); values stay under 255 characters, Word's limit."""

from __future__ import annotations

import io
import zipfile

from lxml import etree

PART = "docProps/custom.xml"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def read(blob: bytes) -> dict[str, str]:
    """Every custom property as text ({} when there are none or the part is unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            root = etree.fromstring(archive.read(PART), _PARSER)
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError, ValueError):
        return {}
    return {str(prop.get("name")): "".join(prop.itertext()) for prop in root if prop.get("name")}


def set_property(blob: bytes, name: str, value: str) -> bytes:
    """A copy of the .docx with the text property `name` set to `value` (added, or replaced)."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    parts = {info.filename: data for info, data in members}
    root = (etree.fromstring(parts[PART], _PARSER) if PART in parts
            else etree.Element(f"{{{CUSTOM}}}Properties", nsmap={None: CUSTOM, "vt": VT}))
    for prop in [p for p in root if p.get("name") == name]:
        root.remove(prop)
    pids = [int(p.get("pid")) for p in root if str(p.get("pid", "")).isdigit()]
    prop = etree.SubElement(root, f"{{{CUSTOM}}}property", fmtid=FMTID, pid=str(max(pids, default=1) + 1), name=name)
    etree.SubElement(prop, f"{{{VT}}}lpwstr").text = value
    changed = {PART: _xml(root)}
    if PART not in parts:  # a document that had no custom properties: register the part
        rels = etree.fromstring(parts["_rels/.rels"], _PARSER)
        used = {r.get("Id") for r in rels}
        rid = next(f"rId{n}" for n in range(1, len(used) + 2) if f"rId{n}" not in used)
        etree.SubElement(rels, f"{{{RELS}}}Relationship", Id=rid, Type=REL_TYPE, Target=PART)
        types = etree.fromstring(parts["[Content_Types].xml"], _PARSER)
        etree.SubElement(types, f"{{{TYPES}}}Override", PartName="/" + PART, ContentType=CONTENT_TYPE)
        changed.update({"_rels/.rels": _xml(rels), "[Content_Types].xml": _xml(types)})
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, changed.pop(info.filename, data))
        for filename, data in changed.items():
            archive.writestr(filename, data)
    return output.getvalue()


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
