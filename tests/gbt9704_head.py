"""GB/T 9704 checker points for the page and the 版头: paper, margins, 版心, grid, 发文机关标志, 发文字号,
red separator, title and 主送 (gbt9704.py runs them with the others). The rules of the 版头 depend on
the format (gbt9704_read.layout): 文件 (a 上行文 with its 签发人), 信函 (GB/T 9704 §10.1) or 公告
(no 版头 at all)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable

from gbt9704_read import (
    CHAR3,
    FANGSONG,
    KAITI,
    LEFT,
    MM,
    PITCH,
    RIGHT,
    TOP,
    XBS,
    Document,
    Para,
    face,
    find_line,
    layout,
    mark,
    near,
    para_lines,
    q,
    title,
    twips,
    wval,
)

Point = Callable[[Document], "str | None"]
POINTS: list[Point] = []


def point(fn: Point) -> Point:
    POINTS.append(fn)
    return fn


# --- paper, margins, type area, grid ---------------------------------------------------------------
def _section(doc: Document, child: str, *attrs: str) -> list[float]:
    el = doc.sect.find(q(child))
    return [twips(el.get(q(a))) if el is not None else 0.0 for a in attrs]


@point
def paper_a4(doc: Document) -> str | None:
    """The paper is A4, 210 × 297 mm, portrait: in the section (w:pgSz) and on every PDF page."""
    w, h = _section(doc, "pgSz", "w", "h")
    bad = [] if near(w, 210, 1) and near(h, 297, 1) else [f"the section is {w:.0f}×{h:.0f} mm"]
    bad += [f"PDF page {i} is {pw:.0f}×{ph:.0f} mm" for i, (pw, ph) in enumerate(doc.page_sizes, 1)
            if not (near(pw, 210, 1) and near(ph, 297, 1))]
    return "; ".join(bad) or None


@point
def margins(doc: Document) -> str | None:
    """天头 (top margin) 37 ± 1 mm and 订口 (left margin) 28 ± 1 mm."""
    top, left = _section(doc, "pgMar", "top", "left")
    if near(top, TOP, 1) and near(left, LEFT, 1):
        return None
    return f"top margin {top:.1f} mm, left margin {left:.1f} mm (want 37 and 28)"


@point
def type_area(doc: Document) -> str | None:
    """The 版心 is 156 × 225 mm (page number not included): right margin 26 mm, bottom 35 mm."""
    w, h = _section(doc, "pgSz", "w", "h")
    top, left, right, bottom = _section(doc, "pgMar", "top", "left", "right", "bottom")
    width, height = w - left - right, h - top - bottom
    if near(width, 156, 1) and near(height, 225, 1):
        return None
    return f"type area {width:.1f}×{height:.1f} mm (want 156×225)"


@point
def char_grid(doc: Document) -> str | None:
    """The section has a line-and-character grid (w:docGrid linesAndChars) that gives 22 lines
    of 28 characters of the 3号 default, so that text typed later in Word or WPS keeps the grid."""
    grid = doc.sect.find(q("docGrid"))
    if grid is None or grid.get(q("type")) not in ("linesAndChars", "snapToChars"):
        return "the section has no linesAndChars grid (w:docGrid)"
    w, h = _section(doc, "pgSz", "w", "h")
    top, left, right, bottom = _section(doc, "pgMar", "top", "left", "right", "bottom")
    width, height = (w - left - right) * MM, (h - top - bottom) * MM   # points
    line = float(grid.get(q("linePitch")) or 0) / 20
    default = int(doc.run_prop(Para(doc.root, "Normal", "", False), None, lambda rpr: wval(rpr, "sz")) or 32) / 2
    char = default + float(grid.get(q("charSpace")) or 0) / 4096
    lines = int(height / line + 1e-6) if line else 0
    chars = int(width / char + 1e-6) if char > 0 else 0
    if (lines, chars) == (22, 28):
        return None
    return f"the grid gives {lines} lines of {chars} characters (want 22 × 28)"


@point
def body_grid(doc: Document) -> str | None:
    """In the PDF, body text runs 22 lines a page (a line pitch of 225/22 mm) and 28 characters a
    line (a 3号 character pitch of 156/28 mm)."""
    bodies = [line for p in doc.styled("GWBody") if not p.in_table for line in para_lines(doc, p.text)]
    pitches = [b.top - a.top for a, b in zip(bodies, bodies[1:]) if a.page == b.page and 0 < b.top - a.top < 12]
    widths = [s.width / len(s.text) for line in bodies for s in line.segs
              if len(s.text) >= 8 and re.fullmatch(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+", s.text)]
    if not pitches or not widths:
        return "too little body text in the PDF to measure the grid"
    pitch, char = statistics.median(pitches), statistics.median(widths) / MM
    bad = []
    if not near(pitch, PITCH, 0.15):
        bad.append(f"line pitch {pitch:.2f} mm gives {225 / pitch:.1f} lines (want 22)")
    if int(156 / char + 0.05) != 28:
        bad.append(f"character pitch {char:.2f} mm gives {156 / char:.1f} a line (want 28)")
    return "; ".join(bad) or None


# --- 版头: 发文机关标志, 发文字号, red separator -------------------------------------------------------
@point
def issuer_mark(doc: Document) -> str | None:
    """The 发文机关标志 is red 小标宋, centred on the type area (in the .docx and in the PDF). A 公告
    has no 版头: no 标志, no 发文字号."""
    found = mark(doc)
    if layout(doc) == "notice":
        extra = [p.text.strip() for p in doc.styled("GWIssuerMark", "GWDocNumber")]
        return f"a 公告 without 版头 has {extra[:2]}" if extra else None
    if found is None:
        return "no 发文机关标志"
    mark_ = found
    bad = []
    if not face(doc.fonts(mark_), XBS):
        bad.append(f"face {sorted(doc.fonts(mark_))} (want 小标宋)")
    if not all(re.fullmatch(r"[B-F][0-9A-F][0-5][0-9A-F][0-5][0-9A-F]", c) for c in doc.colors(mark_)):
        bad.append(f"colour {sorted(doc.colors(mark_))} in the .docx (want red)")
    line = find_line(doc, mark_.text, 1)
    if line is None:
        bad.append("not on page 1 of the PDF")
    else:
        if not all(s.red for s in line.segs):
            bad.append(f"colour {sorted({s.color for s in line.segs})} in the PDF (want red)")
        if not near((line.left + line.right) / 2, (LEFT + RIGHT) / 2, 2):
            bad.append(f"not centred: {line.left:.1f}–{line.right:.1f} mm")
    return "; ".join(bad) or None


@point
def issuer_mark_place(doc: Document) -> str | None:
    """The 标志's top edge is 35 mm below the top of the type area (72 mm from the page's top) in
    the 文件 layout; 30 mm from the page's top in 信函格式."""
    kind = layout(doc)
    if kind == "notice" or mark(doc) is None:
        return None
    line = find_line(doc, mark(doc).text, 1)
    want = TOP + 35 if kind == "file" else 30
    if line is not None and near(line.top, want, 3):
        return None
    return f"the 标志's top is at {line.top:.1f} mm (want {want:.0f} ± 3)" if line else "no 标志 on page 1"


@point
def doc_number_form(doc: Document) -> str | None:
    """The 发文字号 is 机关代字 + 〔full year〕 in 六角括号 + a number without 第 or leading zeros + 号,
    e.g. 某教发〔2026〕3号. A 文件 or 信函 document carries one."""
    numbers = doc.styled("GWDocNumber")
    if layout(doc) == "notice" and not numbers:
        return None
    if not numbers:
        return "no 发文字号 under the 标志"
    text = numbers[-1].text.strip()
    number = re.search(r"\S+〔\d{4}〕\S*号", text) or re.search(r"\S*[\[(（【〔]\d{2,4}[\])）】〕]\S*号", text)
    if number and re.fullmatch(r"[^\s〔〕第]+〔[12]\d{3}〕[1-9]\d*号", number[0]):
        return None
    return f"bad 发文字号 {text!r}"


@point
def doc_number_place(doc: Document) -> str | None:
    """The 发文字号 is 3号仿宋, centred under the 标志 with two blank lines between them (文件); on a
    上行文 it goes 居左空一字 with "签发人：" (3号仿宋) and the name (3号楷体) 居右空一字 on its line. In
    信函格式 it sits flush right just under the first red double line."""
    numbers = doc.styled("GWDocNumber")
    if not numbers or mark(doc) is None:
        return None
    number = numbers[-1]
    signer = "签发人" in number.text
    runs = [r for r in doc.runs(number) if "".join(r.itertext()).strip()]
    name_runs = runs[[i for i, r in enumerate(runs) if "签发人" in "".join(r.itertext())][0] + 1:] if signer else []
    fonts = {doc.run_prop(number, r, lambda rpr: wval(rpr, "rFonts", "eastAsia")) for r in runs if r not in name_runs}
    bad = []
    if not face(fonts, FANGSONG) or doc.sizes(number) != {16.0}:
        bad.append(f"{sorted(map(str, fonts))} {sorted(doc.sizes(number))} pt (want 3号仿宋)")
    names = {doc.run_prop(number, r, lambda rpr: wval(rpr, "rFonts", "eastAsia")) for r in name_runs}
    if signer and not face(names, KAITI):
        bad.append(f"签发人's name in {sorted(map(str, names))} (want 3号楷体)")
    line, top = find_line(doc, number.text, 1), find_line(doc, mark(doc).text, 1)
    if line is None or top is None:
        return "; ".join(bad + ["发文字号 or 标志 not found on page 1"])
    kind = layout(doc)
    if kind == "file" and signer:
        if not (near(line.left, LEFT + CHAR3, 1.5) and near(line.right, RIGHT - CHAR3, 1.5)):
            bad.append(f"spans {line.left:.1f}–{line.right:.1f} mm (上行文: 发文字号 居左空一字, 签发人 居右空一字, "
                       f"{LEFT + CHAR3:.1f}–{RIGHT - CHAR3:.1f})")
    elif kind == "file" and not near((line.left + line.right) / 2, (LEFT + RIGHT) / 2, 2):
        bad.append(f"not centred: {line.left:.1f}–{line.right:.1f} mm")
    if kind == "file":
        gap = line.top - (top.top + top.size / MM)
        if not 2 * PITCH - 1 <= gap <= 3 * PITCH:
            bad.append(f"{gap:.1f} mm below the 标志 (want two blank lines, about {2 * PITCH:.0f} mm)")
    elif kind == "letter":
        if not near(line.right, RIGHT, 1.5):
            bad.append(f"ends at {line.right:.1f} mm (信函格式: flush with the type area's right edge, {RIGHT:.0f})")
        rules = [r for r in doc.rules(1) if r.red and r.top < line.top]
        if not rules or not 2 <= line.top - rules[-1].top <= 9:
            bad.append("not just under the red double line")
    return "; ".join(bad) or None


@point
def red_line(doc: Document) -> str | None:
    """A red separator line as wide as the type area lies 4 mm below the 发文字号 (文件 layout).
    信函格式 has red double lines 170 mm long, centred on the page: thick over thin 4 mm below the
    标志, thin over thick 20 mm above the page's bottom edge. No red line in a 公告/公示 without 版头."""
    kind = layout(doc)
    rules = [r for r in doc.rules(1) if r.red]
    if kind == "notice":
        return f"a 公告 without 版头 has a red line at {rules[0].top:.1f} mm" if rules else None
    if not rules:
        return "no red line on page 1"
    if kind == "letter":
        return _letter_lines(doc, rules)
    rule = rules[0]
    bad = []
    if kind == "file" and not (near(rule.left, LEFT, 1.5) and near(rule.right, RIGHT, 1.5)):
        bad.append(f"red line spans {rule.left:.1f}–{rule.right:.1f} mm (want {LEFT:.0f}–{RIGHT:.0f})")
    numbers = doc.styled("GWDocNumber")
    line = find_line(doc, numbers[-1].text, 1) if numbers else None
    if kind == "file" and line is not None:
        gap = rule.top - (line.top + max(s.height for s in line.segs) / MM)
        if not near(gap, 4, 1.5):
            bad.append(f"red line {gap:.1f} mm below the 发文字号 (want 4)")
    return "; ".join(bad) or None


def _letter_lines(doc: Document, rules: list) -> str | None:
    found = mark(doc)
    mark_ = find_line(doc, found.text, 1) if found else None
    bad = [f"red line {r.left:.1f}–{r.right:.1f} mm (want 20–190)" for r in rules
           if not (near(r.left, 20, 2) and near(r.right, 190, 2))]
    top = [r for r in rules if r.top < 150]
    bottom = [r for r in rules if r.top > 250]
    if len(top) < 2 or top[1].top - top[0].top > 2.5 or top[0].thickness <= top[1].thickness:
        bad.append("no thick-over-thin double line under the 标志")
    elif mark_ is not None and not near(top[0].top - (mark_.top + mark_.size / MM), 4, 2):
        bad.append(f"the double line is {top[0].top - mark_.top - mark_.size / MM:.1f} mm below the 标志 (want 4)")
    if len(bottom) < 2 or bottom[-1].top - bottom[0].top > 2.5 or bottom[0].thickness >= bottom[-1].thickness:
        bad.append("no thin-over-thick double line at the foot of page 1")
    elif not near(bottom[-1].top, 297 - 20, 2):
        bad.append(f"the foot double line is at {bottom[-1].top:.1f} mm (want 277)")
    return "; ".join(bad) or None


# --- 标题, 主送 ----------------------------------------------------------------------------------------
@point
def title_font(doc: Document) -> str | None:
    """The title is 2号 (22 pt) 小标宋, centred on the type area (every line of it, in the PDF)."""
    t = title(doc)
    if t is None:
        return "no title (GW Title paragraph)"
    bad = []
    if not face(doc.fonts(t), XBS) or doc.sizes(t) != {22.0} or doc.jc(t) != "center":
        bad.append(f"{sorted(doc.fonts(t))} {sorted(doc.sizes(t))} pt, {doc.jc(t)} (want 2号小标宋 centred)")
    lines = para_lines(doc, t.text, 1)
    if not lines:
        return "; ".join(bad + ["title not found on page 1 of the PDF"])
    for line in lines:
        if line.size != 22 or not near((line.left + line.right) / 2, (LEFT + RIGHT) / 2, 2.5):
            bad.append(f"PDF line {line.plain!r} is {line.size} pt at {line.left:.1f}–{line.right:.1f} mm")
    return "; ".join(bad) or None


@point
def title_lines(doc: Document) -> str | None:
    """A title of several lines breaks by meaning into a 梯形 or 菱形: no line of one or two
    characters, no line starting with closing punctuation or ending with opening punctuation, and
    no break inside a run of digits or Latin letters."""
    t = title(doc)
    lines = para_lines(doc, t.text, 1) if t is not None else []
    if len(lines) < 2:
        return None
    texts = [line.plain for line in lines]
    bad = [f"line {x!r} has {len(x)} characters" for x in texts if len(x) <= 2]
    bad += [f"line {b!r} starts with {b[0]}" for b in texts[1:] if b[0] in "，。、；：？！）》」”’〕"]
    bad += [f"line {a!r} ends with {a[-1]}" for a in texts[:-1] if a[-1] in "（《「“‘〔"]
    bad += [f"break inside {a[-1]}|{b[0]}" for a, b in zip(texts, texts[1:])
            if re.match(r"[0-9A-Za-z]", a[-1]) and re.match(r"[0-9A-Za-z]", b[0])]
    widths = [line.right - line.left for line in lines]
    bad += [f"line {texts[i]!r} is shorter than the lines around it (沙漏, not 梯形 or 菱形)"
            for i in range(1, len(widths) - 1) if widths[i] < min(widths[i - 1], widths[i + 1]) - 3]
    return "; ".join(bad) or None


@point
def title_place(doc: Document) -> str | None:
    """The title starts two blank lines below the red separator line (文件), two blank lines below
    the 发文字号 (信函), on the first line of the type area (公告, which has no 版头)."""
    t, rules, kind = title(doc), [r for r in doc.rules(1) if r.red], layout(doc)
    lines = para_lines(doc, t.text, 1) if t is not None else []
    if t is not None and not lines:
        return "title not found on page 1"
    if t is None:
        return None
    if kind == "notice":
        top = lines[0].top
        return None if near(top, TOP, 3) else f"title at {top:.1f} mm (want the type area's top, {TOP:.0f})"
    if kind == "letter":
        numbers = doc.styled("GWDocNumber")
        number = find_line(doc, numbers[-1].text, 1) if numbers else None
        if number is None:
            return "no 发文字号 above the title"
        gap = lines[0].top - number.top
        return None if near(gap, 3 * PITCH, 4) else f"title {gap:.1f} mm below the 发文字号 (want two blank lines)"
    if not rules:
        return None
    gap = lines[0].top - rules[0].top
    return None if near(gap, 2 * PITCH, 4) else f"title {gap:.1f} mm below the red line (want about 20)"


@point
def main_to(doc: Document) -> str | None:
    """The 主送机关 is 3号仿宋, one blank line below the title, flush left with no indent, and
    ends with a full-width colon."""
    t = title(doc)
    if t is None:
        return None
    candidates = [p for p in doc.styled("GWMainTo") if doc.paras.index(p) > doc.paras.index(t)]
    if not candidates:
        return None   # a 公示 or 报告 may have no 主送
    p = candidates[0]
    bad = []
    if not p.text.rstrip().endswith("："):
        bad.append(f"{p.text!r} does not end with ：")
    if doc.ind(p, "firstLine") or doc.ind(p, "left") or doc.ind(p, "firstLineChars"):
        bad.append("indented")
    if not face(doc.fonts(p), FANGSONG) or doc.sizes(p) != {16.0}:
        bad.append(f"{sorted(doc.fonts(p))} {sorted(doc.sizes(p))} pt (want 3号仿宋)")
    line, tl = find_line(doc, p.text), para_lines(doc, t.text, 1)
    if line is None or not tl:
        return "; ".join(bad + ["主送 or title not found in the PDF"])
    if not near(line.left, LEFT, 1):
        bad.append(f"starts at {line.left:.1f} mm (want {LEFT:.0f})")
    if line.page != 1 or not near(line.top - tl[-1].top, 2 * PITCH, 3):
        bad.append(f"not one blank line below the title (page {line.page}, {line.top - tl[-1].top:.1f} mm)")
    return "; ".join(bad) or None
