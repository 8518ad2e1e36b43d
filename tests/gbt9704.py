"""A GB/T 9704-2012 (党政机关公文格式) checker for the official documents gongwen renders.

`check(docx_bytes, pdf_path)` returns one named problem per failed point, "point: what is wrong".
Each point is a small function whose docstring states the rule it checks (in our words, after
shared/DOMAIN.md §1); it reads the .docx XML, the PDF LibreOffice made of it, or both (see
gbt9704_read.py). Positions are millimetres from the page's top left; the type area (版心) is
28–184 mm across and 37–262 mm down.

Three layouts are told apart by the template's custom property gongwen_format (gbt9704_read.layout):
"file" (文件格式, 上行文 included), "letter" (信函格式, GB/T 9704 §10.1: the 标志 30 mm from the page's
top, red double lines, the 发文字号 flush right, no page number on page 1, a 版记 without 印发 row or
separators) and "notice" (公告/公示: no 版头, no red line, no 版记). Points that do not apply to a
layout pass."""

from __future__ import annotations

import re
from pathlib import Path

from gbt9704_head import POINTS, Point, point
from gbt9704_read import (
    BOTTOM,
    CHAR3,
    CHAR4,
    DATE,
    FANGSONG,
    HEADINGS,
    KAITI,
    LEFT,
    PITCH,
    RIGHT,
    SONG,
    TOP,
    Document,
    Para,
    face,
    find_line,
    layout,
    near,
    page_number_lines,
    para_lines,
    record_lines,
    signature,
    title,
    twips,
    wval,
)


# --- 正文, headings, fonts, colours ----------------------------------------------------------------
def _body(doc: Document) -> list[Para]:
    return [p for p in doc.styled("GWBody") if not p.in_table]


@point
def body_text(doc: Document) -> str | None:
    """正文 is 3号仿宋, every paragraph indented two characters (in the .docx); in the
    PDF the body lines are 16 pt and start at the type area's left edge (or two characters in)."""
    bad = []
    for p in _body(doc):
        fonts = doc.fonts(p) - {d for d in doc.fonts(p) if KAITI in (d or "")}  # 工作目标： in 楷体
        if not face(fonts, FANGSONG) or doc.sizes(p) != {16.0}:
            bad.append(f"{p.text[:12]!r}: {sorted(doc.fonts(p))} {sorted(doc.sizes(p))} pt")
        elif doc.ind(p, "firstLineChars") != 200 and not near(twips(doc.ind(p, "firstLine")), 2 * CHAR3, 0.5):
            bad.append(f"{p.text[:12]!r}: not indented two characters")
        lines = para_lines(doc, p.text)
        if not lines:
            bad.append(f"{p.text[:12]!r} not found in the PDF")
        for line in lines:
            if line.size != 16 or not (near(line.left, LEFT, 1) or near(line.left, LEFT + 2 * CHAR3, 1)):
                bad.append(f"PDF line {line.plain[:12]!r}: {line.size} pt at {line.left:.1f} mm")
    return "; ".join(bad[:4]) or None


@point
def heading_levels(doc: Document) -> str | None:
    """Headings 一、 / （一） / 1. / （1） are 3号 in 黑体 / 楷体 / 仿宋 / 仿宋, indented two characters,
    and in order: a level appears only under the level above it (starting at 一、)."""
    bad, seen = [], 0
    for p in doc.paras:
        text = p.text.strip()
        if not text or p.in_table or not p.style.startswith(("GWBody", "GWHeading")):
            continue
        for level, (pattern, want, label) in enumerate(HEADINGS, 1):
            if not re.match(pattern, text):
                continue
            marker = doc.runs(p)[0]
            got = doc.run_prop(p, marker, lambda rpr: wval(rpr, "rFonts", "eastAsia"))
            if not got or want not in got:
                bad.append(f"{text[:10]!r}: {label} in {got} (want {want})")
            if doc.ind(p, "firstLineChars") != 200 and not near(twips(doc.ind(p, "firstLine")), 2 * CHAR3, 0.5):
                bad.append(f"{text[:10]!r}: not indented two characters")
            if level > seen + 1 and level <= 2:
                bad.append(f"{text[:10]!r}: {label} without the level above")
            seen = max(seen, level) if level <= 2 else seen
            break
    return "; ".join(bad[:4]) or None


@point
def no_word_bold(doc: Document) -> str | None:
    """Weight comes from the typefaces (黑体, 小标宋): no text of an official document is set in Word bold."""
    bold = [p.text[:12] for p in doc.paras if p.text.strip() and doc.bold(p)]
    return f"bold text: {bold[:3]}" if bold else None


@point
def colours(doc: Document) -> str | None:
    """Everything is black but the 发文机关标志 (and the red line): in the .docx and in the PDF."""
    mark = {p.text for p in doc.styled("GWIssuerMark")}
    bad = [f"{p.text[:12]!r} coloured {sorted(doc.colors(p))}" for p in doc.paras if p.text.strip()
           and p.text not in mark and doc.colors(p) - {"AUTO", "000000"}]
    bad += [f"PDF text {s.text[:12]!r} in {s.color}" for s in doc.segs
            if s.color != "#000000" and not any(s.text in m for m in mark)]
    return "; ".join(bad[:4]) or None


@point
def pdf_no_japanese_face(doc: Document) -> str | None:
    """The PDF embeds Simplified-Chinese faces: no Japanese face (…JP, …jp)."""
    jp = [f for f in doc.pdf_fonts if re.search(r"JP|jp|Japan|Gothic|Mincho", f)]
    return f"Japanese faces embedded: {jp}" if jp else None


@point
def pdf_faces_per_element(doc: Document) -> str | None:
    """In the PDF the 标志 and the title (小标宋), the 一、 headings (黑体) and the （一） headings (楷体)
    use other faces than the 仿宋 body: they do not come out as body text."""
    def family(text: str | None) -> str | None:
        if not text:
            return None
        lines = para_lines(doc, text)
        line = lines[0] if lines else find_line(doc, text)
        if line is None:
            return None
        cjk = [s for s in line.segs if re.search(r"[\u4e00-\u9fff]", s.text)]
        return re.sub(r"^[A-Z]{6}\+", "", cjk[0].family) if cjk else None
    body = [p.text for p in _body(doc)]
    base = family(body[0] if body else None)
    if base is None:
        return "no body text found in the PDF"
    bad = []
    marks, t = doc.styled("GWIssuerMark"), title(doc)
    heads = [[p.text for p in doc.paras if re.match(HEADINGS[level][0], p.text.strip()) and not p.in_table]
             for level in (0, 1)]
    for what, text in (("标志", marks[0].text if marks else None), ("title", t.text if t else None),
                       ("一、 heading", heads[0][0] if heads[0] else None),
                       ("（一） heading", heads[1][0] if heads[1] else None)):
        got = family(text)
        if text and got == base:
            bad.append(f"the {what} uses the body's face {base}")
    return "; ".join(bad) or None


# --- 成文日期 and 署名 --------------------------------------------------------------------------------
@point
def date_form(doc: Document) -> str | None:
    """The 成文日期 is in Arabic numerals with the full year and no leading zeros: 2026年3月10日."""
    sig = signature(doc)
    if len(sig) < 2:
        return "no 署名 and 成文日期 (GW Signature paragraphs)"
    text = sig[1].text.strip()
    return None if re.fullmatch(DATE, text) else f"bad 成文日期 {text!r}"


@point
def date_place(doc: Document) -> str | None:
    """The 成文日期 is right-aligned 右空四字: its last character ends four 3号 characters short of
    the type area's right edge."""
    sig = signature(doc)
    if len(sig) < 2:
        return None
    line = find_line(doc, sig[1].text)
    if line is None:
        return "成文日期 not found in the PDF"
    want = RIGHT - 4 * CHAR3
    return None if near(line.right, want, 1.5) else f"the date ends at {line.right:.1f} mm (want {want:.1f})"


@point
def signature_over_date(doc: Document) -> str | None:
    """With the seal, the 发文机关署名 is centred over the 成文日期 (on the line above it)."""
    sig = signature(doc)
    if len(sig) < 2:
        return None
    date = find_line(doc, sig[1].text)
    want = re.sub(r"\s+", "", sig[0].text)   # the last such line above the date (a 信函's 标志 reads the same)
    above = [line for line in doc.lines if date is not None and line.plain == want
             and (line.page, line.top) < (date.page, date.top)]
    name = above[-1] if above else None
    if name is None or date is None:
        return "署名 or 成文日期 not found in the PDF"
    offset = (name.left + name.right) / 2 - (date.left + date.right) / 2
    bad = [] if near(offset, 0, 2) else [f"the 署名 is {offset:+.1f} mm off the date's centre"]
    if name.page != date.page or not near(date.top - name.top, PITCH, 2):
        bad.append("the 署名 is not on the line above the date")
    return "; ".join(bad) or None


@point
def note_place(doc: Document) -> str | None:
    """The 附注 (e.g. （此件主动公开）) is in parentheses on the line after the 成文日期, 居左空二字."""
    notes, sig = doc.styled("GWNote"), signature(doc)
    if not notes or len(sig) < 2:
        return None
    text = notes[0].text.strip()
    bad = [] if re.fullmatch(r"（[^（）]+）", text) else [f"附注 {text!r} is not in parentheses"]
    line, date = find_line(doc, text), find_line(doc, sig[1].text)
    if line is None or date is None:
        return "; ".join(bad + ["附注 or 成文日期 not found in the PDF"])
    if not near(line.left, LEFT + 2 * CHAR3, 1):
        bad.append(f"附注 starts at {line.left:.1f} mm (want {LEFT + 2 * CHAR3:.1f})")
    if line.page != date.page or not near(line.top - date.top, PITCH, 2):
        bad.append("附注 is not on the line after the date")
    return "; ".join(bad) or None


@point
def text_forms(doc: Document) -> str | None:
    """Dates in the text are 2026年3月10日 (no 04月, no ISO 2026-03-10, no timestamps) and there is
    no English word in the document."""
    text = "\n".join(p.text for p in doc.paras)
    bad = [f"padded date {m}" for m in re.findall(r"\d{4}年0\d月|\D0\d日", text)]
    bad += [f"raw date {m}" for m in re.findall(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?", text)]
    bad += [f"English {m!r}" for m in re.findall(r"[A-Za-z]{2,}", text)]
    return "; ".join(bad[:4]) or None


@point
def first_page_text(doc: Document) -> str | None:
    """Page 1 shows 正文 (or the 主送) under the title, never the title alone."""
    t = title(doc)
    if t is None:
        return None
    lines = para_lines(doc, t.text, 1)
    below = [line for line in doc.page_lines(1) if lines and line.top > lines[-1].top + 1 and line.top < BOTTOM]
    return None if below else "page 1 ends with the title"


# --- 版记 --------------------------------------------------------------------------------------------
@point
def record_rows(doc: Document) -> str | None:
    """The 版记 is 4号仿宋: 抄送：A，B。 indented one character each side, ending with 。; then
    the 印发机关 左空一字 and the 印发日期 右空一字 followed by 印发 (2026年3月10日印发). 信函格式
    has no 印发 row."""
    rows = doc.styled("GWRecord")
    if layout(doc) == "notice":
        return f"a 公告 has no 版记, this one has {rows[0].text.strip()[:12]!r}" if rows else None
    if layout(doc) == "letter" and not rows:
        return None   # 信函格式: a 版记 only for a 抄送
    if not rows:
        return "no 版记 (GW Record paragraphs)"
    bad = []
    for p in rows:
        if not face(doc.fonts(p), FANGSONG) or doc.sizes(p) != {14.0}:
            bad.append(f"{p.text.strip()[:10]!r}: {sorted(doc.fonts(p))} {sorted(doc.sizes(p))} pt")
    cc = [p for p in rows if p.text.strip().startswith("抄送")]
    if cc and not re.fullmatch(r"抄送：[^：]+。", cc[0].text.strip()):
        bad.append(f"bad 抄送 {cc[0].text.strip()!r}")
    issued = [p for p in rows if p.text.strip().endswith("印发")]
    if layout(doc) == "letter":   # 信函格式: no 印发机关, 印发日期 or separator lines
        bad += ["信函格式 版记 with an 印发 row"] if issued else []
        return "; ".join(bad) or None
    if not issued:
        return "; ".join(bad + ["no 印发机关/印发日期 row"])
    parts = issued[-1].text.split()
    if len(parts) < 2 or not re.fullmatch(DATE + "印发", parts[-1]):
        bad.append(f"bad 印发 row {issued[-1].text.strip()!r}")
    line = find_line(doc, issued[-1].text)
    if line is None:
        return "; ".join(bad + ["印发 row not found in the PDF"])
    if not (near(line.left, LEFT + CHAR4, 1.5) and near(line.right, RIGHT - CHAR4, 1.5)):
        bad.append(f"印发 row spans {line.left:.1f}–{line.right:.1f} mm (want {LEFT + CHAR4:.1f}–{RIGHT - CHAR4:.1f})")
    if cc:
        c = find_line(doc, cc[0].text)
        if c is None or not near(c.left, LEFT + CHAR4, 1.5):
            bad.append("抄送 not 左空一字" if c else "抄送 not found in the PDF")
    if any(s.size != 14 for line in record_lines(doc) for s in line.segs):
        bad.append("版记 text is not 14 pt in the PDF")
    return "; ".join(bad) or None


@point
def record_rules(doc: Document) -> str | None:
    """The 版记 lies between separator lines as wide as the type area: the first and last thick
    (0.35 mm), those between thin (0.25 mm); the last one on the bottom edge of the type area."""
    lines = record_lines(doc)
    if not lines:
        return None if layout(doc) != "file" else "no 版记 in the PDF"
    page = lines[-1].page
    if layout(doc) == "letter":   # 信函格式: a 版记 without separators
        near_rules = [r for r in doc.rules(page) if not r.red and lines[0].top - 2 * PITCH < r.top < BOTTOM + 2]
        return f"信函格式 版记 with {len(near_rules)} separator line(s)" if near_rules else None
    rules = [r for r in doc.rules(page) if not r.red and r.top > lines[0].top - 2 * PITCH]
    above = [r for r in rules if r.top < lines[0].top]
    rules = above[-1:] + [r for r in rules if r.top >= lines[0].top]
    if len(rules) < 2:
        return f"{len(rules)} separator line(s) around the 版记 on page {page}"
    bad = [f"line at {r.top:.1f} mm spans {r.left:.1f}–{r.right:.1f} mm" for r in rules
           if not (near(r.left, LEFT, 1.5) and near(r.right, RIGHT, 1.5))]
    if not near(rules[-1].top, BOTTOM, 1.5):
        bad.append(f"the last line is at {rules[-1].top:.1f} mm (want {BOTTOM:.0f})")
    thick = min(rules[0].thickness, rules[-1].thickness)
    if thick < 0.28 or any(r.thickness >= thick for r in rules[1:-1]):
        bad.append("thicknesses " + ", ".join(f"{r.thickness:.2f}" for r in rules) + " mm (want thick, thin…, thick)")
    return "; ".join(bad) or None


@point
def record_on_even_last_page(doc: Document) -> str | None:
    """The 版记 is on the last page, and that page is even (a blank page is added when needed); a
    信函's 抄送 goes at the foot of its last page, whichever."""
    lines = record_lines(doc)
    if not lines:
        return None if layout(doc) != "file" else "no 版记 in the PDF"
    bad = []
    if lines[-1].page != doc.pages:
        bad.append(f"the 版记 is on page {lines[-1].page} of {doc.pages}")
    if doc.pages % 2 and layout(doc) == "file":
        bad.append(f"{doc.pages} pages: the last page is odd")
    text_after = [line for line in doc.page_lines(lines[-1].page) if line.top > lines[-1].top + 1
                  and line.top < BOTTOM]
    if text_after:
        bad.append(f"text below the 版记: {text_after[0].plain[:10]!r}")
    return "; ".join(bad) or None


# --- 页码 --------------------------------------------------------------------------------------------
@point
def page_number_form(doc: Document) -> str | None:
    """Page numbers are 4号 half-width 宋体 Arabic numerals between 一字线: "— 1 —", one per page,
    counting the pages. 信函格式 has none on page 1; a blank page, and the 版记 page after one,
    may go without."""
    bad = []
    for kind, paras in doc.footers().items():
        for p in paras:
            if "—" in p.text:
                if not re.fullmatch(r"— \d+ —", p.text.strip()):
                    bad.append(f"footer {kind} reads {p.text!r}")
                fonts = {doc.run_prop(p, r, lambda rpr: wval(rpr, "rFonts", "eastAsia")) for r in doc.runs(p)}
                if not face(fonts, SONG) or doc.sizes(p) != {14.0}:
                    bad.append(f"footer {kind}: {sorted(map(str, fonts))} {sorted(doc.sizes(p))} pt (want 4号宋体)")
    numbers = page_number_lines(doc)
    first = 2 if layout(doc) == "letter" else 1
    if first == 2 and 1 in numbers:
        bad.append("信函格式 has no page number on page 1")
    blank = {page for page in range(1, doc.pages + 1)
             if not [line for line in doc.page_lines(page) if TOP - 1 < line.top < BOTTOM]}
    for page in range(first, doc.pages + 1):
        line = numbers.get(page)
        if line is None and (page in blank or (page == doc.pages and page - 1 in blank)):
            continue   # a blank page, and the 版记 page after one, may go unnumbered
        if line is None:
            bad.append(f"page {page} has no number")
        elif line.plain != f"—{page}—" or line.size != 14:
            bad.append(f"page {page} is numbered {line.text!r} at {line.size} pt")
    return "; ".join(bad[:4]) or None


@point
def page_number_place(doc: Document) -> str | None:
    """Odd pages number 右空一字, even pages 左空一字 (one 4号 character from the type area's edge),
    with the number about 7 mm below the type area."""
    bad = []
    for page, line in sorted(page_number_lines(doc).items()):
        if page % 2 and not near(line.right, RIGHT - CHAR4, 1.5):
            bad.append(f"page {page} number ends at {line.right:.1f} mm (want {RIGHT - CHAR4:.1f})")
        if not page % 2 and not near(line.left, LEFT + CHAR4, 1.5):
            bad.append(f"page {page} number starts at {line.left:.1f} mm (want {LEFT + CHAR4:.1f})")
        if not near(line.middle, BOTTOM + 7, 2.5):
            bad.append(f"page {page} number at {line.middle:.1f} mm (want {BOTTOM + 7:.0f})")
    return "; ".join(bad[:4]) or None


ALL: dict[str, Point] = {fn.__name__: fn for fn in POINTS}


def check(docx: bytes, pdf: Path, name: str = "") -> list[str]:
    """Every failed point of the document, as "point: problem"."""
    doc = Document(docx, pdf, name)
    return [f"{p}: {problem}" for p, problem in ((p, fn(doc)) for p, fn in ALL.items()) if problem]
