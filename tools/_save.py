"""Saving the gongwen Word templates with stable bytes (fixed zip timestamps, sorted members, our
font table) and their custom document properties (docProps/custom.xml: gongwen_token on the
approval forms, gongwen_format on the official documents)."""

import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

from _gbt9704 import CHECK_FONT, FANGSONG, HEITI, KAITI, LATIN, SONG, XBS, ZIP_TIME
from docx.oxml.ns import nsdecls

# --- saving ---------------------------------------------------------------------------------------
FONT_TABLE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:fonts %s>%s</w:fonts>'
    % (nsdecls("w"), "".join(
        '<w:font w:name="%s">%s<w:charset w:val="%s"/><w:family w:val="%s"/>'
        '<w:pitch w:val="variable"/></w:font>'
        % (name, '<w:altName w:val="%s"/>' % alt if alt else "", charset, family)
        for name, alt, charset, family in (
            (LATIN, None, "00", "roman"),
            (SONG, "SimSun", "86", "auto"),
            (FANGSONG, "仿宋", "86", "modern"),
            (KAITI, "楷体", "86", "modern"),
            (HEITI, "SimHei", "86", "modern"),
            (XBS, "宋体", "86", "auto"),
        ))))


CHECK_FONT_XML = ('<w:font w:name="%s"><w:altName w:val="ＭＳ ゴシック"/><w:charset w:val="80"/>'
                  '<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>' % CHECK_FONT)

CUSTOM_PART = "docProps/custom.xml"
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def custom_property(doc, name, value):
    """A text (lpwstr) custom document property; ``value`` may be a template tag."""
    if not hasattr(doc, "_gw_custom"):
        doc._gw_custom = []
    doc._gw_custom.append((name, value))


def _custom_xml(props):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
            'docPropsVTypes">%s</Properties>' % "".join(
                '<property fmtid="%s" pid="%d" name=%s><vt:lpwstr>%s</vt:lpwstr></property>'
                % (FMTID, pid, quoteattr(name), escape(value))
                for pid, (name, value) in enumerate(props, start=2))).encode("utf-8")


def _add_custom_part(content_types, rels):
    """[Content_Types].xml with the custom properties' Override, _rels/.rels with its relation."""
    from lxml import etree

    types = etree.fromstring(content_types)
    ns = "http://schemas.openxmlformats.org/package/2006/content-types"
    etree.SubElement(types, "{%s}Override" % ns, PartName="/" + CUSTOM_PART,
                     ContentType=CUSTOM_TYPE)
    root = etree.fromstring(rels)
    ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    used = {r.get("Id") for r in root}
    rid = next("rId%d" % i for i in range(1, len(used) + 2) if "rId%d" % i not in used)
    etree.SubElement(root, "{%s}Relationship" % ns, Id=rid, Type=CUSTOM_REL, Target=CUSTOM_PART)
    dump = lambda el: etree.tostring(el, xml_declaration=True, encoding="UTF-8",
                                     standalone=True)
    return dump(types), dump(root)


def save(doc, path):
    """Save with fixed zip timestamps, sorted members and our font table: stable bytes.

    Adds docProps/custom.xml when the document has custom properties (``custom_property``)."""
    buf = io.BytesIO()
    doc.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    members = {name: src.read(name) for name in src.namelist()}
    font_table = FONT_TABLE
    if b"<w14:checkbox>" in members["word/document.xml"]:
        font_table = font_table.replace("</w:fonts>", CHECK_FONT_XML + "</w:fonts>")
    members["word/fontTable.xml"] = font_table.encode("utf-8")
    custom = getattr(doc, "_gw_custom", None)
    if custom:
        members[CUSTOM_PART] = _custom_xml(custom)
        members["[Content_Types].xml"], members["_rels/.rels"] = _add_custom_part(
            members["[Content_Types].xml"], members["_rels/.rels"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(members):
            data = members[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, data)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())
