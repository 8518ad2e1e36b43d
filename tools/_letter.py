"""The GB/T 9704-2012 page parts of the official documents: the 版头 of the three formats (文件, with
the 上行文 variant; 信函; 公告 without 版头), the end of the 主体 (署名, 成文日期, 附注) and the 版记.

Every official template is marked with the custom document property ``gongwen_format`` (文件 / 信函 /
公告), which tells the GB/T 9704 checker (tests/gbt9704*.py) which rules apply.

信函格式 (GB/T 9704 §10.1): the 发文机关标志 (no 文件) and the thick-over-thin red double line under it
sit in the first-page header, the 标志's top edge 30 mm from the top of the page; the thin-over-thick
double line 20 mm above the page's bottom edge is the first-page footer, so page 1 has no page
number; later pages are numbered as usual. Both double lines are 170 mm long, centred on the page
(negative indents reach 20 mm in from each edge of the paper). The 发文字号 sits flush right in the
first line of the text, under the double line (份号/密级 flush left on the same line when given).
"""

import copy

from _gbt9704 import (
    CHAR3,
    CHAR4,
    HEITI,
    KAITI,
    LINE,
    MARGINS,
    RED,
    STYLES,
    TYPE_WIDTH,
    XBS,
    R,
    _cant_split,
    _restyle,
    _table_properties,
    add_run,
    blank,
    new_document,
    para,
    rule,
    tag,
)
from _save import custom_property
from docx.enum.section import WD_SECTION
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips

FORMAT_PROPERTY = "gongwen_format"
FILE, LETTER, NOTICE = "文件", "信函", "公告"


def official_format(doc, kind):
    """Mark the template with its GB/T 9704 format (custom property gongwen_format)."""
    assert kind in (FILE, LETTER, NOTICE)
    custom_property(doc, FORMAT_PROPERTY, kind)


# --- 版头, 主体, 版记 ----------------------------------------------------------------------------
def banner(doc, number=None, urgency=None, signer=None, mark_size=None):
    """文件 版头: 紧急程度 line, red 发文机关标志 (…文件), 发文字号 and the red separator line.

    The 标志's top edge sits about 35 mm below the top of the type area (first line + space). The
    发文字号 is centred; on a 上行文 (``signer``: the 签发人's name, a template expression) it goes
    居左空一字 and "签发人：" (3号仿宋) + the name (3号楷体) 居右空一字 on the same line (GB/T 9704
    7.2.4, 7.2.5). ``mark_size`` (pt, default 36 = 小初) for a long issuer name: the 标志 stays on
    one line of the type area.
    """
    official_format(doc, FILE)
    para(doc, R(urgency or "", HEITI), style="GW Main To")
    para(doc, R("{{ settings.issuer_name }}文件", XBS, mark_size or 36, RED), style="GW Issuer Mark")
    blank(doc, 2, "GW Doc Number")
    if signer is None:
        para(doc, number or "", style="GW Doc Number")
    else:
        para(doc, number or "", "\t", "签发人：", R(signer, KAITI), style="GW Doc Number",
             line=LINE, left=CHAR3, right=CHAR3, tabs=[("right", TYPE_WIDTH - CHAR3)], jc="left")
    rule(doc, size=12, color=RED, height=227)          # 4 mm below the 发文字号


# 信函格式 geometry (twips): the header starts 30 mm from the top of the page; the foot double line
# ends 20 mm above the bottom edge (the footer distance); the lines run 20–190 mm across the page.
LETTER_HEADER = 1701              # LibreOffice: the 标志's glyphs start 30 mm down (measured)
LETTER_FOOTER = 1134
LETTER_LINE_IND = dict(left=1134 - MARGINS["left"], right=1134 - MARGINS["right"])
LETTER_MARK_SIZE = 30             # pt
THICK, THIN = 18, 6               # eighths of a point: 2.25 pt and 0.75 pt


def _double_line(p, upper, lower, before=0):
    """A paragraph 1.5 pt high that is only a red double line: a top and a bottom border."""
    _restyle(p, "GW Rule", dict(line=30, before=before, border={"top": (upper, RED), "bottom": (lower, RED)},
                                **LETTER_LINE_IND))


def letter_head(doc, number, issuer="{{ settings.issuer_name }}", left=None):
    """信函格式 版头 (GB/T 9704 §10.1): the 标志 and the double lines in the first page's header and
    footer (see the module docstring), the 发文字号 flush right under the first double line with
    ``left`` (份号/密级) flush left on the same line when given."""
    official_format(doc, LETTER)
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    section.header_distance, section.footer_distance = Twips(LETTER_HEADER), Twips(LETTER_FOOTER)
    header = section.first_page_header
    header.is_linked_to_previous = False
    mark = header.paragraphs[0]
    _restyle(mark, "GW Issuer Mark", dict(line=LETTER_MARK_SIZE * 24, jc="center", snap=False))
    add_run(mark, R(issuer, XBS, LETTER_MARK_SIZE, RED))
    _double_line(header.add_paragraph(), THICK, THIN, before=100)
    footer = section.first_page_footer
    footer.is_linked_to_previous = False
    _double_line(footer.paragraphs[0], THIN, THICK)
    # the other pages: an empty header that never reaches the type area, and the page numbers lifted
    # by the 5 mm the footer distance lost (the number stays about 7 mm below the type area)
    section.header.is_linked_to_previous = False
    _restyle(section.header.paragraphs[0], "GW Rule", dict(line=20))
    for f in (section.footer, section.even_page_footer):
        f.paragraphs[0]._p.pPr.find(qn("w:spacing")).set(qn("w:after"), "300")
    para(doc, left or "", "\t", number or "", style="GW Doc Number", line=LINE, before=40,
         tabs=[("right", TYPE_WIDTH)], jc="left")


def notice_head(doc, title, main_to=None):
    """公告/公示 (no 版头, no red line, no 版记): the 2号小标宋 title on the first line of the type area,
    one blank line, the optional 主送."""
    official_format(doc, NOTICE)
    para(doc, R(title, XBS), style="GW Title")
    blank(doc)
    if main_to:
        para(doc, main_to, style="GW Main To")


# After the 文件 版头 the first blank line is shorter by the 4 mm rule under the 发文字号 (227 twips;
# measured: 0.41 of a line), so that the title and the text run on the 22-line grid of the page
# (page 1 then holds as many lines as the grid gives: the text of the first release ended 0.41 line
# early, and a 附注 went alone to page 2).
FILE_GAP = LINE - 237


def title_block(doc, title, main_to=None, first_blank=None):
    """Two blank lines (the first ``first_blank`` twips high when given), the 2号小标宋 title, one
    blank line, the 主送 line."""
    if first_blank:
        para(doc, **dict(STYLES["GW Body"][1], line=first_blank))
        blank(doc)
    else:
        blank(doc, 2)
    para(doc, R(title, XBS), style="GW Title")
    blank(doc)
    if main_to:
        para(doc, main_to, style="GW Main To")


def body(doc, *pieces):
    return para(doc, *pieces, style="GW Body")


def signature(doc, date_expr, issuer="{{ settings.issuer_name }}"):
    """署名 centred over the 成文日期 (右空四字), one blank line below the text: a 42 mm seal centred
    on them then reaches within one line of the text (GB/T 9704 7.3.5.1). Never alone on a page
    (no 孤章): the end of the text before them moves along when they do not fit. The chain is the
    text's last paragraph, the blank line, 署名 and 日期, and the 附注 when there is one (it stays
    on the line after the date, see publicity_note), so page 1 is left at most that paragraph's
    lines + 2 short (+ 1 with a 附注): a one-line closing such as 特此通知。 keeps it to 3."""
    _keep_with_next(doc)
    para(doc, **dict(STYLES["GW Body"][1], keep_next=True))
    name = para(doc, style="GW Signature",
                **dict(STYLES["GW Signature"][1], keep_next=True, right=0, jc="left", tabs=[("center", SEAL_CENTRE)]))
    name.add_run().add_tab()  # <w:tab/>, to the centre stop
    add_run(name, issuer)
    para(doc, date_expr, style="GW Signature")


# The 署名 is centred over the 成文日期 (GB/T 9704 7.3.5.1) on a centre tab stop: the date stays 右空四字
# and its width varies with its digits, so the stop is the centre of a date of 7 digits (2026年11月5日:
# measured in LibreOffice with tests/gbt9704.py: 1380 twips left of the date's right edge), so a date of
# 6 or 8 digits is off by about 1.8 mm, within GB/T 9704's eye (the checker allows 2 mm).
SEAL_CENTRE = TYPE_WIDTH - 4 * CHAR3 - 1380


def _keep_with_next(doc):
    """Keep-with-next on the last paragraph of text before this point, unless a table or a loop
    ends the text (chaining a loop's paragraph would chain all of them). Word then moves that
    paragraph's last lines along with what follows; LibreOffice moves the whole paragraph
    (measured: an 8-line one went whole to page 2)."""
    for element in reversed(list(doc.element.body.iterchildren(qn("w:p"), qn("w:tbl")))):
        text = "".join(element.itertext()).strip()
        if element.tag == qn("w:tbl") or text.startswith("{%p endfor"):
            return
        if text.startswith("{%p"):
            continue
        ppr = element.get_or_add_pPr()
        if ppr.find(qn("w:keepNext")) is None:
            style = ppr.find(qn("w:pStyle"))
            keep = OxmlElement("w:keepNext")
            if style is not None:
                style.addnext(keep)
            else:
                ppr.insert(0, keep)
        return


NOTES = {"主动公开": "（此件主动公开）", "依申请公开": "（此件依申请公开）", "不予公开": "（此件不予公开）"}


def publicity_note(doc, field="publicity"):
    """附注 （此件主动公开） etc. from the publicity field, 居左空二字, on the line after the 成文日期
    (GB/T 9704 7.3.7): when there is a 附注 the date (the paragraph before, from ``signature``)
    keeps with it, so the keep-with-next chain of the signature grows by this one line."""
    date = doc.paragraphs[-1]._p
    kept = copy.deepcopy(date)
    kept.get_or_add_pPr().insert(1, OxmlElement("w:keepNext"))    # after w:pStyle
    date.addprevious(tag(doc, "{%%p if %s in %r %%}" % (field, sorted(NOTES)))._p)
    date.addprevious(kept)
    date.addprevious(tag(doc, "{%p else %}")._p)
    tag(doc, "{%p endif %}")
    tag(doc, "{%%p if %s == '主动公开' %%}" % field)
    para(doc, "（此件主动公开）", style="GW Note")
    tag(doc, "{%%p elif %s == '依申请公开' %%}" % field)
    para(doc, "（此件依申请公开）", style="GW Note")
    tag(doc, "{%%p elif %s == '不予公开' %%}" % field)
    para(doc, "（此件不予公开）", style="GW Note")
    tag(doc, "{%p endif %}")


def record(doc, date_expr="{{ event.date|cn_date }}", cc="cc", printer="{{ settings.issuer_name }}办公室"):
    """版记 on the last page, which is even (封四): a section of its own that starts on the next even
    page (w:type evenPage: Word, WPS and LibreOffice add a blank, unnumbered page when the text
    ends on an even page), numbered like the others. In it, a table floating at the bottom of the
    type area, with thick rules above and below and a thin one between 抄送 (only if given) and
    印发机关 + 印发日期.

    Word cannot make the 版记 share the text's last page only when that page is even, so a text
    ending on an even page gets a blank page and the 版记 on the next; the 版记 always has a page
    of its own (GB/T 9704 7.5 foresees both the 版记 page and the blank page before it)."""
    section = doc.add_section(WD_SECTION.EVEN_PAGE)
    # the paragraph holding the text's sectPr, and one starting the 版记's section (LibreOffice
    # applies a section's page break to the paragraph that follows it, not to a floating table)
    holder = doc.paragraphs[-1]
    sect_pr = holder._p.pPr.find(qn("w:sectPr"))
    _restyle(holder, "GW Rule", dict(line=20))
    holder._p.pPr.append(sect_pr)
    para(doc, style="GW Rule", line=20)
    assert section.footer.is_linked_to_previous    # numbered like the text's pages
    # bottomFromText: LibreOffice 7.4 puts a bottom-aligned table of an evenPage section 8.2 pt (164
    # twips) below the type area (measured with pdftotext -bbox; not so in a nextPage section); this
    # distance lifts it back. Word aligns the table's own bottom edge with the margin.
    t = doc.add_table(rows=0, cols=1)
    _table_properties(t, [TYPE_WIDTH], [("top", 8), ("bottom", 8), ("insideH", 6)], 0, placed=(
        '<w:tblpPr w:leftFromText="0" w:rightFromText="0" w:topFromText="%d" w:bottomFromText="164" '
        'w:vertAnchor="margin" w:horzAnchor="page" w:tblpX="%d" w:tblpYSpec="bottom"/>'
        '<w:tblOverlap w:val="never"/>' % (LINE, MARGINS["left"])))

    def record_row(*pieces, **ppr):
        r = t.add_row()
        _cant_split(r)
        cell = r.cells[0]
        cell.width = Twips(TYPE_WIDTH)
        p = cell.paragraphs[0]
        _restyle(p, "GW Record", ppr)
        for piece in pieces:
            add_run(p, piece)

    if cc:
        record_row("{%%tr if %s %%}" % cc)
        record_row("抄送：{{ %s|cn_list }}" % cc, left=CHAR4 + 3 * CHAR4, hanging=3 * CHAR4, right=CHAR4,
                   line=LINE)
        record_row("{%tr endif %}")
    record_row(printer, "\t", date_expr + "印发", left=CHAR4,
               tabs=[("right", TYPE_WIDTH - CHAR4)], line=LINE)
    para(doc, style="GW Rule", line=20)   # the body must end with a paragraph: the table's anchor


def letter_record(doc, cc="cc"):
    """信函格式's 版记 (GB/T 9704 §10.1): only the 抄送, when the field ``cc`` has a value, at the foot
    of the type area of the last page, with no 印发机关/印发日期 and no separator lines; nothing at
    all without a 抄送. (No section of its own: a conditional even-page section would leave a blank
    page behind, and removing it would drop the letter head with the first section.)"""
    tag(doc, "{%%p if %s %%}" % cc)
    t = doc.add_table(rows=0, cols=1)
    _table_properties(t, [TYPE_WIDTH], [], 0, placed=(
        '<w:tblpPr w:leftFromText="0" w:rightFromText="0" w:topFromText="%d" w:bottomFromText="0" '
        'w:vertAnchor="margin" w:horzAnchor="page" w:tblpX="%d" w:tblpYSpec="bottom"/>'
        '<w:tblOverlap w:val="never"/>' % (LINE, MARGINS["left"])))
    r = t.add_row()
    _cant_split(r)
    r.cells[0].width = Twips(TYPE_WIDTH)
    p = r.cells[0].paragraphs[0]
    _restyle(p, "GW Record", dict(left=CHAR4 + 3 * CHAR4, hanging=3 * CHAR4, right=CHAR4, line=LINE))
    add_run(p, "抄送：{{ %s|cn_list }}" % cc)
    para(doc, style="GW Rule", line=20)   # the table's anchor
    tag(doc, "{%p endif %}")


# --- starting an official document ---------------------------------------------------------------
def title_lines(title):
    """A title broken into lines by rule when rendered (the title_lines filter,
    workflow/documents/titles.py: no line of one or two characters, no word cut, 梯形 or 菱形)."""
    return "{% filter title_lines %}" + title + "{% endfilter %}"


def official(name, subject, title, main_to=None, number=None, kind=FILE, urgency=None, signer=None,
             mark_size=None):
    """A new official document of the given format with its 版头 (文件: the red banner; 信函: the
    letter head; 公告: none), the title and the 主送."""
    doc = new_document(name, subject)
    if kind == NOTICE:
        notice_head(doc, title_lines(title), main_to)
        return doc
    if kind == LETTER:
        letter_head(doc, number)
    else:
        banner(doc, number, urgency, signer, mark_size)
    title_block(doc, title_lines(title), main_to, FILE_GAP if kind == FILE else None)
    return doc
