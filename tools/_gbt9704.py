"""Layout helpers for the gongwen Word templates (python-docx + lxml).

Over 400 lines: the page (geometry, styles, page numbers), paragraphs and tables, kept together
because they share the page geometry and the style table; the 版头 of each format, the signature
block and the 版记 are in _letter.py, saving (stable bytes, custom properties) in _save.py.

Official documents follow GB/T 9704-2012 (see shared/DOMAIN.md §1): A4, type area 156×225 mm,
2号小标宋 title, 3号仿宋 body on a fixed 28.9 pt line in a 22 × 28 document grid, headings 一、
黑体 / （一） 楷体 / 1. 仿宋, page numbers ``— 1 —`` in 4号宋体; table rows that never split across
pages.

All formatting lives in named paragraph styles ("GW …") so that an administrator who edits a
template in Word sees and keeps them; runs only carry an explicit East Asian font where it differs
from the 仿宋 default, so that re-styling a paragraph does not lose the typeface.

Every template tag is written into exactly one run (one ``w:t``), so docxtpl-style renderers never
have to merge split tags.
"""

import datetime
import zlib
from collections import namedtuple
from xml.sax.saxutils import quoteattr

import docx
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Twips

# --- measurements (twips: 1/20 pt, 1440 per inch) ------------------------------------------------
A4 = (11906, 16838)
MARGINS = {"top": 2098, "left": 1588, "right": 1474, "bottom": 1984}
TYPE_WIDTH = A4[0] - MARGINS["left"] - MARGINS["right"]   # 8844 = 156 mm
LINE = 578            # fixed line pitch, 28.9 pt: 22 lines in the 225 mm type area
# The section's document grid (w:docGrid linesAndChars) for text typed later in Word or WPS: 22 lines
# of 28 characters in the 156 x 225 mm type area. Lines: 12756 twips / 22 = 579.8, so a pitch of
# 579 gives 22 (580 would give 21). Characters: the pitch is the 3号 size (16 pt, the Normal style's)
# plus charSpace/4096 pt; 28 per line need a pitch <= 8844 / 28 = 315.86 twips = 15.7929 pt, so
# charSpace = floor((15.7929 - 16) * 4096) = -849 (pitch 15.7927 pt; 29 would need 15.25 pt).
GRID_LINE_PITCH = 579
GRID_CHAR_SPACE = -849
CHAR3 = 320           # one 3号 (16 pt) character
CHAR4 = 280           # one 4号 (14 pt) character
RED = "FF0000"

FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
XBS = "方正小标宋简体"
SONG = "宋体"
LATIN = "Times New Roman"

FIXED_TIME = datetime.datetime(2024, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# a run inside a paragraph: text (may hold whole template tags), optional typeface/size/colour
R = namedtuple("R", "text font size color", defaults=(None, None, None))
# a clickable checkbox (Word content control) inside a paragraph; tag names it (w:tag)
Check = namedtuple("Check", "tag")
CHECK_FONT = "MS Gothic"
GREY = "808080"

# Chinese ordinals for heading numbers in templates ({{ cn[loop.index0] }}、)
CN_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"] + [
    "十" + d for d in "一二三四五六七八九"] + ["二十"] + ["二十" + d for d in "一二三四五六七八九"] + ["三十"]
CN_SET_TAG = "{%p set cn = [" + ", ".join("'%s'" % n for n in CN_NUMERALS) + "] %}"


# --- low-level XML builders (children always in schema order) -----------------------------------
def _el(tag, **attrs):
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn("w:" + key), str(value))
    return el


def rpr_xml(font=None, size=None, color=None, spacing=None, latin=None):
    """Run properties as an XML string: rFonts, color, spacing, sz, szCs (schema order)."""
    parts = []
    if font or latin:
        attrs = ""
        if latin:
            attrs += ' w:ascii="%s" w:hAnsi="%s"' % (latin, latin)
        if font:
            attrs += ' w:eastAsia="%s"' % font
        parts.append("<w:rFonts%s/>" % attrs)
    if color:
        parts.append('<w:color w:val="%s"/>' % color)
    if spacing:
        parts.append('<w:spacing w:val="%d"/>' % spacing)
    if size:
        parts.append('<w:sz w:val="%d"/><w:szCs w:val="%d"/>' % (size * 2, size * 2))
    return "".join(parts)


def ppr_xml(keep_next=False, page_break=False, border=None, tabs=None, before=0, after=0,
            line=None, left=None, right=None, first_chars=None, hanging=None, jc=None,
            outline=None, snap=True, autospace=True):
    """Paragraph properties as an XML string, children in schema order.

    ``line`` is an exact line height in twips (None: single, auto); ``border`` a dict
    side -> (size in eighths of a point, colour); ``tabs`` a list of (kind, position);
    ``snap=False`` writes snapToGrid off (the paragraph ignores the section's document grid);
    ``autospace=False`` turns off the extra space between Chinese characters and Latin letters or
    digits (autoSpaceDE/DN), which keeps a date such as 2026年11月12日 narrow in a table cell.
    """
    parts = []
    if keep_next:
        parts.append("<w:keepNext/><w:keepLines/>")
    if page_break:
        parts.append("<w:pageBreakBefore/>")
    if border:
        sides = "".join('<w:%s w:val="single" w:sz="%d" w:space="0" w:color="%s"/>'
                        % (side, border[side][0], border[side][1])
                        for side in ("top", "bottom") if side in border)
        parts.append("<w:pBdr>%s</w:pBdr>" % sides)
    if tabs:
        parts.append("<w:tabs>%s</w:tabs>" % "".join(
            '<w:tab w:val="%s" w:pos="%d"/>' % tab for tab in tabs))
    if not autospace:
        parts.append('<w:autoSpaceDE w:val="0"/><w:autoSpaceDN w:val="0"/>')
    if not snap:
        parts.append('<w:snapToGrid w:val="0"/>')
    rule = 'w:line="%d" w:lineRule="exact"' % line if line else 'w:line="240" w:lineRule="auto"'
    parts.append('<w:spacing w:before="%d" w:after="%d" %s/>' % (before, after, rule))
    ind = ""
    if left is not None:
        ind += ' w:left="%d"' % left
    if right is not None:
        ind += ' w:right="%d"' % right
    if first_chars is not None:
        ind += ' w:firstLine="%d" w:firstLineChars="%d"' % (CHAR3 * first_chars // 100, first_chars)
    if hanging is not None:
        ind += ' w:hanging="%d"' % hanging
    parts.append("<w:ind%s/>" % ind if ind else '<w:ind w:left="0" w:firstLine="0"/>')
    if jc:
        parts.append('<w:jc w:val="%s"/>' % jc)
    if outline is not None:
        parts.append('<w:outlineLvl w:val="%d"/>' % outline)
    return "".join(parts)


# --- styles ---------------------------------------------------------------------------------------
# -0.5 pt per character: 28 characters of 3号 fit the 156 mm line in Word, WPS and LibreOffice.
# The GW styles do not snap to the document grid (snapToGrid off): LibreOffice 7.4 gives a 16 pt
# character two cells of a 15.79 pt grid (14 a line), and with the grid present it fits only 27
# characters at -0.25 pt (measured with pdftotext -bbox; 28 at -0.5 pt, as without a grid).
BODY_SPACING = -10

# style name -> (run properties, paragraph properties)
STYLES = {
    "GW Body": (dict(spacing=BODY_SPACING), dict(line=LINE, first_chars=200, jc="both")),
    "GW Heading 1": (dict(font=HEITI, spacing=BODY_SPACING),
                     dict(line=LINE, first_chars=200, jc="both", keep_next=True, outline=0)),
    "GW Heading 2": (dict(font=KAITI, spacing=BODY_SPACING),
                     dict(line=LINE, first_chars=200, jc="both", keep_next=True, outline=1)),
    "GW Heading 3": (dict(spacing=BODY_SPACING),
                     dict(line=LINE, first_chars=200, jc="both", outline=2)),
    "GW Issuer Mark": (dict(font=XBS, latin=XBS, size=36, color=RED),
                       dict(line=900, before=1984 - LINE, jc="center")),
    "GW Doc Number": ({}, dict(line=LINE, jc="center")),
    "GW Title": (dict(font=XBS, latin=XBS, size=22),
                 dict(line=LINE, jc="center", keep_next=True, outline=0)),
    "GW Main To": (dict(spacing=BODY_SPACING), dict(line=LINE, keep_next=True)),
    "GW Signature": ({}, dict(line=LINE, right=4 * CHAR3, jc="right")),
    "GW Note": ({}, dict(line=LINE, first_chars=200)),
    "GW Record": (dict(size=14), dict(line=LINE, keep_next=True)),
    "GW Rule": (dict(size=1), dict(line=40, keep_next=True)),
    "GW Form Title": (dict(font=XBS, latin=XBS, size=22), dict(line=LINE, after=120, jc="center")),
    "GW Form Meta": (dict(size=12), dict(line=LINE, jc="right")),
    "GW Caption": (dict(font=HEITI, size=14), dict(before=120, after=60, keep_next=True)),
    "GW Cell": (dict(size=14), dict(before=20, after=20, jc="left", autospace=False)),
    "GW Cell Label": (dict(size=14), dict(before=20, after=20, jc="center", autospace=False)),
    "GW Small Cell": (dict(size=12), dict(before=20, after=20, jc="left", autospace=False)),
    "GW Small Label": (dict(font=HEITI, size=12), dict(before=20, after=20, jc="center",
                                                        autospace=False)),
    "GW Page Number": (dict(font=SONG, latin=SONG, size=14), dict()),
}


def style_id(name):
    return name.replace(" ", "")


def _setup_styles(doc):
    """Document defaults and Normal: 3号仿宋_GB2312 / Times New Roman, language zh-CN."""
    styles = doc.styles.element
    base_rpr = (f'<w:rPr><w:rFonts w:ascii="{LATIN}" w:eastAsia="{FANGSONG}" w:hAnsi="{LATIN}" w:cs="{LATIN}"/>'
                '<w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN" '
                'w:bidi="ar-SA"/></w:rPr>')
    spacing = '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>'
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().replace(defaults, parse_xml(
        "<w:docDefaults %s><w:rPrDefault>%s</w:rPrDefault><w:pPrDefault><w:pPr>%s</w:pPr>"
        "</w:pPrDefault></w:docDefaults>" % (nsdecls("w"), base_rpr, spacing)))
    normal = styles.xpath('w:style[@w:styleId="Normal"]')[0]
    normal.getparent().replace(normal, parse_xml(
        '<w:style %s w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
        '<w:qFormat/><w:pPr><w:widowControl w:val="0"/>%s<w:jc w:val="both"/></w:pPr>%s</w:style>'
        % (nsdecls("w"), spacing, base_rpr)))
    for name, (rpr, ppr) in STYLES.items():
        styles.append(parse_xml(
            '<w:style %s w:type="paragraph" w:customStyle="1" w:styleId="%s"><w:name w:val="%s"/>'
            '<w:basedOn w:val="Normal"/><w:qFormat/><w:pPr>%s</w:pPr><w:rPr>%s</w:rPr></w:style>'
            % (nsdecls("w"), style_id(name), name, ppr_xml(snap=False, **ppr), rpr_xml(**rpr))))


# --- document setup -------------------------------------------------------------------------------
def new_document(title, subject, landscape=False, page_numbers="gbt", margins=None, grid=None):
    """An empty A4 document with the gongwen styles, fixed properties and page numbers.

    page_numbers: "gbt" (odd pages 右空一字, even pages 左空一字), "center" or None. ``grid``
    (default: with "gbt" page numbers, i.e. on official documents) gives the section the GB/T 9704
    document grid of 22 lines × 28 characters.
    """
    doc = docx.Document()
    for rels in (doc.part.package.rels, doc.part.rels):     # drop python-docx sample parts
        for rid, rel in list(rels.items()):
            if rel.reltype.rsplit("/", 1)[-1] in ("thumbnail", "customXml", "stylesWithEffects"):
                del rels[rid]
    _setup_styles(doc)
    settings = doc.settings.element
    settings.find(qn("w:themeFontLang")).set(qn("w:eastAsia"), "zh-CN")
    for rsids in settings.findall(qn("w:rsids")):
        settings.remove(rsids)
    props = doc.core_properties
    props.title, props.subject, props.author = title, subject, "gongwen"
    props.last_modified_by, props.comments, props.revision = "gongwen", "", 1
    props.created = props.modified = FIXED_TIME

    section = doc.sections[0]
    width, height = (A4[1], A4[0]) if landscape else A4
    margins = margins or MARGINS
    section.page_width, section.page_height = Twips(width), Twips(height)
    if landscape:
        section.orientation = 1
    section.top_margin, section.bottom_margin = Twips(margins["top"]), Twips(margins["bottom"])
    section.left_margin, section.right_margin = Twips(margins["left"]), Twips(margins["right"])
    # the page number's dash line sits about 7 mm below the type area
    section.header_distance, section.footer_distance = Twips(851), Twips(1418)
    if page_numbers == "gbt" if grid is None else grid:
        doc_grid = section._sectPr.find(qn("w:docGrid"))
        for name in list(doc_grid.attrib):
            del doc_grid.attrib[name]
        doc_grid.set(qn("w:type"), "linesAndChars")
        doc_grid.set(qn("w:linePitch"), str(GRID_LINE_PITCH))
        doc_grid.set(qn("w:charSpace"), str(GRID_CHAR_SPACE))
    if page_numbers == "gbt":
        doc.settings.odd_and_even_pages_header_footer = True
        _page_number(section.footer, dict(right=CHAR4, jc="right"))
        _page_number(section.even_page_footer, dict(left=CHAR4, jc="left"))
    elif page_numbers == "center":
        _page_number(section.footer, dict(jc="center"))
    return doc


def _page_number(footer, ppr):
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    _restyle(p, "GW Page Number", ppr)
    field = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">'
             ' PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
             '<w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')
    add_run(p, R("— "))
    p._p.extend(list(parse_xml("<w:x %s>%s</w:x>" % (nsdecls("w"), field))))
    add_run(p, R(" —"))


def page_borders(doc, color="C00000"):
    """A double border around the page (certificates)."""
    sides = "".join('<w:%s w:val="double" w:sz="18" w:space="24" w:color="%s"/>' % (s, color)
                    for s in ("top", "left", "bottom", "right"))
    borders = parse_xml('<w:pgBorders %s w:offsetFrom="page">%s</w:pgBorders>'
                        % (nsdecls("w"), sides))
    doc.sections[0]._sectPr.find(qn("w:pgMar")).addnext(borders)


# --- paragraphs -----------------------------------------------------------------------------------
def _restyle(p, style, ppr=None):
    old = p._p.pPr
    if old is not None:
        p._p.remove(old)
    p._p.insert(0, parse_xml('<w:pPr %s><w:pStyle w:val="%s"/>%s</w:pPr>'
                             % (nsdecls("w"), style_id(style), ppr_xml(**ppr) if ppr else "")))


def add_checkbox(p, tag):
    """An unticked checkbox content control (w14:checkbox, ☐/☒ in MS Gothic) as Word writes it:
    a run-level w:sdt whose content is one run holding ☐. Its w:id is derived from the tag."""
    fonts = f'<w:rFonts w:ascii="{CHECK_FONT}" w:eastAsia="{CHECK_FONT}" w:hAnsi="{CHECK_FONT}" w:hint="eastAsia"/>'
    sdt = parse_xml(
        '<w:sdt %s><w:sdtPr><w:rPr>%s</w:rPr><w:tag w:val=%s/><w:id w:val="%d"/>'
        '<w14:checkbox><w14:checked w14:val="0"/>'
        '<w14:checkedState w14:val="2612" w14:font="{f}"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="{f}"/></w14:checkbox></w:sdtPr>'
        '<w:sdtContent><w:r><w:rPr>%s</w:rPr><w:t>\u2610</w:t></w:r></w:sdtContent></w:sdt>'
        .replace("{f}", CHECK_FONT)
        % (nsdecls("w", "w14"), fonts, quoteattr(tag), zlib.crc32(tag.encode("utf-8")) >> 1,
           fonts))
    p._p.append(sdt)
    return sdt


def add_run(p, piece):
    if isinstance(piece, Check):
        return add_checkbox(p, piece.tag)
    piece = R(piece) if isinstance(piece, str) else piece
    run = OxmlElement("w:r")
    props = rpr_xml(font=piece.font, size=piece.size, color=piece.color,
                    latin=piece.font if piece.font in (XBS, SONG) else None)
    if props:
        run.append(parse_xml("<w:rPr %s>%s</w:rPr>" % (nsdecls("w"), props)))
    if piece.text == "\t":
        run.append(OxmlElement("w:tab"))
    elif piece.text:
        t = OxmlElement("w:t")
        t.set(qn("xml:space"), "preserve")
        t.text = piece.text
        run.append(t)
    p._p.append(run)
    return run


def para(container, *pieces, style="GW Body", **ppr):
    """Append a paragraph of the given style; ``pieces`` are str or R (one run each).

    Keyword arguments override paragraph properties (see ``ppr_xml``); when given they replace
    the style's, so pass everything the paragraph needs.
    """
    p = container.add_paragraph()
    _restyle(p, style, ppr or None)
    for piece in pieces:
        add_run(p, piece)
    return p


def tag(container, text):
    """A paragraph holding only a ``{%p … %}`` tag (removed when rendered)."""
    return para(container, text, style="GW Body")


def blank(container, n=1, style="GW Body"):
    for _ in range(n):
        para(container, style=style)


def heading(container, level, *pieces):
    """一、 (黑体), （一） (楷体), 1. (仿宋) headings: 3号, indented two characters, never bold."""
    font = {1: HEITI, 2: KAITI, 3: None}[level]
    runs = [R(p, font) if isinstance(p, str) else p for p in pieces]
    return para(container, *runs, style="GW Heading %d" % level)


def rule(container, size=8, color="000000", height=40):
    """A separator line: an empty paragraph with a bottom border as wide as the type area."""
    return para(container, style="GW Rule", line=height, keep_next=True,
                border={"bottom": (size, color)})


# --- tables ---------------------------------------------------------------------------------------
Cell = namedtuple("Cell", "content span label", defaults=(1, False))


def table(container, widths, small=False, centered=()):
    """A bordered, fixed-layout table as wide as the columns given (twips). Columns whose index is
    in ``centered`` (序号, numbers, dates) hold their content centred across and down the cell."""
    t = container.add_table(rows=0, cols=len(widths))
    t._gw_small = small
    t._gw_centered = frozenset(centered)
    _table_properties(t, widths, [(side, 4) for side in ("top", "left", "bottom", "right", "insideH", "insideV")],
                      85, jc="center")
    t._gw_widths = widths
    return t


def _table_properties(t, widths, borders, cell_margin, placed="", jc=None):
    """Replace a table's properties: fixed column widths (twips), single black borders as (side,
    size in eighths of a point), left and right cell margins (twips), and optionally where it floats
    (``placed``: w:tblpPr and w:tblOverlap XML) or its alignment."""
    tbl_pr = t._tbl.tblPr
    for child in list(tbl_pr):
        tbl_pr.remove(child)
    border = '<w:{0} w:val="single" w:sz="{1}" w:space="0" w:color="000000"/>'
    tbl_pr.extend(parse_xml('<w:x %s>%s</w:x>' % (nsdecls("w"), "".join((      # schema order
        placed,
        '<w:tblW w:w="%d" w:type="dxa"/>' % sum(widths),
        '<w:jc w:val="%s"/>' % jc if jc else "",
        '<w:tblBorders>%s</w:tblBorders>' % "".join(border.format(side, size) for side, size in borders),
        '<w:tblLayout w:type="fixed"/>',
        f'<w:tblCellMar><w:left w:w="{cell_margin}" w:type="dxa"/><w:right w:w="{cell_margin}" w:type="dxa"/>'
        '</w:tblCellMar>',
        '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>')))))
    for col, width in zip(t.columns, widths):
        col.width = Twips(width)


def _cant_split(r):
    """The row is never split across pages (w:cantSplit, before trHeight and tblHeader)."""
    tr_pr = r._tr.get_or_add_trPr()
    later = [child for child in tr_pr if child.tag in (qn("w:trHeight"), qn("w:tblHeader"))]
    if later:
        later[0].addprevious(_el("w:cantSplit"))
    else:
        tr_pr.append(_el("w:cantSplit"))


def row(t, *cells, height=None, header=False):
    """Append a row that never splits across pages; each cell is a str (one paragraph), a list
    (one paragraph each) or Cell. A header row repeats at the top of every page the table spans."""
    r = t.add_row()
    if height:
        r.height = Twips(height)
    _cant_split(r)
    if header:
        tr_pr = r._tr.get_or_add_trPr()
        tr_pr.append(_el("w:tblHeader"))
    small = t._gw_small
    col = 0
    for cell in cells:
        cell = cell if isinstance(cell, Cell) else Cell(cell)
        target = r.cells[col]
        if cell.span > 1:
            target = target.merge(r.cells[col + cell.span - 1])
        target.width = Twips(sum(t._gw_widths[col:col + cell.span]))
        label = cell.label or header
        style = ("GW Small Label" if label else "GW Small Cell") if small else \
                ("GW Cell Label" if label else "GW Cell")
        centered = not label and cell.span == 1 and col in t._gw_centered
        if label or centered:
            target.vertical_alignment = 1      # center
        if centered or (header and col in t._gw_centered):    # narrow margins: 2 pt each side
            target._tc.get_or_add_tcPr().find(qn("w:vAlign")).addprevious(parse_xml(
                '<w:tcMar %s><w:left w:w="40" w:type="dxa"/><w:right w:w="40" w:type="dxa"/>'
                '</w:tcMar>' % nsdecls("w")))
        content = cell.content if isinstance(cell.content, list) else [cell.content]
        for i, text in enumerate(content):
            p = target.paragraphs[0] if i == 0 else target.add_paragraph()
            _restyle(p, style, dict(STYLES[style][1], jc="center") if centered else None)
            pieces = text if isinstance(text, tuple) else (text,)
            for piece in pieces:
                if piece:
                    add_run(p, piece)
        col += cell.span
    return r


def label(text):
    return Cell(text, 1, True)


def fields(t, *pairs, height=None):
    """A row of (label, value) pairs in a 4-column form table; one pair spans the row."""
    if len(pairs) == 1:
        return row(t, label(pairs[0][0]), Cell(pairs[0][1], 3), height=height)
    return row(t, *(c for lab, val in pairs for c in (label(lab), val)), height=height)


def tag_row(t, text):
    """A row holding only a ``{%tr … %}`` tag (removed when rendered)."""
    return row(t, Cell(text, len(t._gw_widths)))
