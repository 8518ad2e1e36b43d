"""Breaking a 红头 title into lines, by rule (GB/T 9704-2012 7.3.1; issue 15).

The title is set in 2号小标宋 (22 pt), centred in the 版心 (156 mm = 8844 twips, tools/_gbt9704.py
TYPE_WIDTH). Widths are measured in thousandths of an em (EM = 1000 units = 22 pt = 440 twips): a
Chinese character or full-width mark is 1000; an ASCII letter or digit 650 (the widest face an office
suite falls back to: LibreOffice set the digits of "2024" in DejaVu Sans, 0.636 em each); other ASCII
marks and spaces 500; and where Chinese meets a letter or a digit Word and LibreOffice add a gap of
about a quarter em (autoSpaceDE/DN; LibreOffice measured 0.2 em), counted as 250. The 版心 holds
8844 * 1000 // 440 = 20100 units: 20 characters. A title does not fill its line (a line exactly full
is broken in two, and a face a little wider than 小标宋 must not make the office suite wrap again), so
a line holds LINE_UNITS = 19600 units: 19 characters, or 18 and a year.
`split_title` chooses the breaks itself instead of leaving them to the office suite, which breaks
wherever the line is full ("…综合督导的通 / 知", "拟认定对 / 象的公示").

Hard rules (a breaking that breaks one is never chosen while another exists):
- no line is wider than LINE_UNITS;
- as few lines as possible;
- no line of only one or two characters (punctuation not counted);
- lines break only between atoms: the words of a word segmentation of the title (jieba, with the
  公文 words of _WORDS added), where a number keeps its unit ("2025年", "2024—2025学年度"), a
  one-character place suffix keeps its name ("某某县"), an opening bracket or quote keeps the word
  after it and a closing one or a punctuation mark the word before it (no line starts with "》" or
  ends with "《"), an adverb keeps its verb ("按期报送"), a counted number its noun ("5所学校"), a
  发文字号 is one atom ("某教发〔2025〕12号"), and so is a 《》, （）or 〔〕 group no wider than half a line.

Among those breakings the one with the lowest score wins, the sum of
- SHAPE per character of width by which the lines depart from a 梯形 (each line no longer than the one
  above: 上长下短) or, with three lines or more, a 菱形 (lines grow to a middle peak, then shrink),
  whichever fits better: heavy, so that a title leaves these shapes only where keeping them would
  cut a group or put most of the title on one line;
- BALANCE per square character of the lines' deviation from their mean width (no 17 + 3), and EQUAL
  for two neighbouring lines of the same width, within half a character (上下等长 is avoided);
- per break: 0 after a structure word ("关于", "对", "开展", "印发", "的", …) or before one ("拟", "关于"),
  WORD after any other word, and more where a break hurts: BEFORE_DE before "的", IN_GROUP inside a
  group or before a （） kept whole (it qualifies the word before it), NEAR_SINGLE beside a
  one-character word that is not a function word (a name the segmenter cut: "县城/关/中学"), IN_NAME
  before a place suffix ("某某/县城关中学"), and LONE_DOCTYPE when the last line is the 文种 alone
  ("意见书").

The weights were set on the 60 titles of tests/test_titles.py, read as a clerk would read them.

The function is pure: the same text always gives the same lines.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from itertools import combinations
from typing import Any

TYPE_WIDTH_TWIPS = 8844  # the 版心, 156 mm (tools/_gbt9704.py TYPE_WIDTH)
TITLE_SIZE_PT = 22  # 2号
EM = 1000  # units of width: thousandths of the title's em (22 pt)
LATIN, ASCII_MARK, AUTOSPACE = 650, 500, 250  # a letter or digit, other ASCII, Chinese next to Latin
FULL_LINE_UNITS = TYPE_WIDTH_TWIPS * EM // (TITLE_SIZE_PT * 20)  # the 版心: 20100, 20 characters
LINE_UNITS = FULL_LINE_UNITS - EM // 2  # a title never fills the line: 19 characters, or 18 and digits
MIN_LINE_CHARS = 3
MAX_LINES = 4  # a longer text (no title is that long) is filled line by line, at its words
MAX_SEGMENTED = 1000  # characters: a longer text is filled line by line, at any character

SHAPE, BALANCE, EQUAL = 10.0, 0.25, 6.0  # per character out of shape, per square character, per pair
WORD, BEFORE_DE, IN_GROUP, NEAR_SINGLE, IN_NAME, LONE_DOCTYPE = 4.0, 10.0, 8.0, 6.0, 8.0, 8.0

OPENING = "《（〔“‘【([<"
CLOSING = "》）〕”’】)]>、，。：；！？,.:;!?"
_PAIRS = {"《": "》", "（": "）", "〔": "〕", "“": "”", "‘": "’", "【": "】", "(": ")", "[": "]", "<": ">"}
_WHOLE = "《（〔【([<"  # groups kept whole when no wider than half a line (quotes may break inside)
_PUNCT = set(OPENING + CLOSING + "—－-·・/ \"'")
# 文种 (条例第八条) and the document names of the shipped workflows
DOC_TYPES = ("通知", "通知书", "意见", "意见书", "督导意见书", "实施意见", "公示", "公告", "通告", "决定", "决议",
             "方案", "实施方案", "工作方案", "要点", "工作要点", "计划", "工作计划", "报告", "复查报告",
             "整改报告", "通报", "函", "复函", "批复", "请示", "纪要", "说明", "办法", "细则", "规定", "答复")
_WORDS = DOC_TYPES + (
    "督导", "综合督导", "专项督导", "挂牌督导", "责任督学", "督学", "督导室", "督导组", "教育督导", "督导评估",
    "整改通知", "限期整改", "整改情况", "督导问题", "清廉学校", "示范校", "合格校", "拟认定", "认定对象",
    "公示结果", "工作总结", "工作会议", "中小学校", "中小学", "中心小学", "中心学校", "幼儿园", "教育局",
    "教育系统", "义务教育", "学前教育", "春季学期", "秋季学期", "学年度", "拟认定对象", "市级", "县级", "省级",
    "校级", "县直", "局机关", "国际儿童节", "防溺水", "双减", "课后服务")
# words after which a line may end at no cost (they close the 关于/verb/的 structure of a title)
BREAK_AFTER = frozenset((
    "关于", "对", "的", "和", "与", "及", "暨", "开展", "印发", "转发", "做好", "加强", "公布", "组织",
    "举办", "召开", "表彰", "命名", "撤销", "推荐", "报送", "督促", "下达", "实施", "推进", "落实", "启动", "申报",
    "进行", "建立", "健全", "调整", "成立", "规范", "深化", "完善", "征集", "评选", "确定"))
# words before which a line may end at no cost
BREAK_BEFORE = ("拟", "关于", "暨")
FUNCTION_CHARS = frozenset("的对和与及为拟将在于由向把被以并或等暨之")
PLACE_SUFFIXES = "省市县区镇乡村"
ADVERBS = frozenset(("按期", "进一步", "切实", "认真", "全面", "及时", "依法", "严格", "积极", "扎实", "持续"))
UNIT_CHARS = "年月日号个所名项届期批次位人元万亿%％"
_NUMBER_UNITS = ("学年", "学年度", "学期", "季度", "年度")
_COUNTED = re.compile(r"^[0-9]+[个所名项位批次]$")
_YEAR_GROUP = re.compile(r"^〔[0-9]{4}〕$")
_SEQUENCE = re.compile(r"^[0-9]+号")
MAX_CODE = 4  # characters of a 机关代字 (某教发, 国办发)
_NUMBER = re.compile(r"^[0-9A-Za-z.\-—–~～]+$")


def char_units(char: str) -> int:
    """The width of one character (see the module's measure)."""
    if unicodedata.east_asian_width(char) not in ("Na", "H"):
        return EM
    return LATIN if _latin(char) else ASCII_MARK


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _autospace(left: str, right: str) -> int:
    """The gap an office suite puts between a Chinese character and a letter or digit."""
    wide = lambda c: unicodedata.east_asian_width(c) in ("W", "F") and c not in _PUNCT
    return AUTOSPACE if (wide(left) and _latin(right)) or (_latin(left) and wide(right)) else 0


def text_units(text: str) -> int:
    """The width of a line of title text, with the gaps between Chinese and Latin."""
    return sum(char_units(c) for c in text) + sum(_autospace(a, b) for a, b in zip(text, text[1:]))


def visible_chars(text: str) -> int:
    """Characters a reader counts on a line: punctuation and spaces not counted."""
    return sum(1 for c in text if c not in _PUNCT)


# -- segmentation ---------------------------------------------------------------------------------
_LOCK = threading.Lock()
_TOKENIZER: Any = None


def _tokenizer() -> Any:
    global _TOKENIZER
    with _LOCK:
        if _TOKENIZER is None:
            import logging

            import jieba

            from workflow.documents.wordfreq import tokenizer as mapped_tokenizer

            jieba.setLogLevel(logging.WARNING)
            tokenizer = mapped_tokenizer()  # our own, on a mapped dictionary (no 0.8 s load per process)
            for word in _WORDS:
                tokenizer.add_word(word, freq=None)
            _TOKENIZER = tokenizer
        return _TOKENIZER


def atoms(text: str, width: int = LINE_UNITS) -> list[str]:
    """The title cut into the pieces a line break may fall between (see the module's rules)."""
    out: list[str] = []
    open_quotes: set[str] = set()  # ASCII quotes: the first of a pair opens, the second closes
    glue = False  # the last atom ends with an opening bracket or quote: the next word joins it
    for word in (w for w in _tokenizer().lcut(text, HMM=False) if w):
        prev = out[-1] if out else ""
        if word in ('"', "'"):
            opening = word not in open_quotes
            open_quotes ^= {word}
            if prev and (glue or not opening):
                out[-1] += word
            else:
                out.append(word)
            glue = opening
            continue
        if not prev:
            out.append(word)
        elif glue or word[0] in CLOSING:  # 《 keeps the word after it, 》 the one before
            out[-1] += word
        elif _NUMBER.match(word) and (_NUMBER.match(prev) or prev == "第"):
            out[-1] += word  # 2024 — 2025, 第 2
        elif _is_number(prev) and (word[0] in UNIT_CHARS and len(word) <= 3 or word in _NUMBER_UNITS):
            out[-1] += word  # 2025年, 2025年度, 2024—2025学年度
        elif word in PLACE_SUFFIXES and not _is_number(prev) and prev[-1] not in CLOSING:
            out[-1] += word  # 某某 县
        elif prev in ADVERBS or _COUNTED.match(prev):
            out[-1] += word  # 按期 报送, 5所 学校
        else:
            out.append(word)
        glue = word[-1] in OPENING
    return _join_groups(_join_doc_numbers(out), width)


def _join_doc_numbers(parts: list[str]) -> list[str]:
    """Make a 发文字号 (某教发〔2025〕12号) one atom: its 〔year〕, its number and the 机关代字 before it
    (the short words just before, up to MAX_CODE characters, that are not structure words)."""
    out: list[str] = []
    for index, part in enumerate(parts):
        if index and _SEQUENCE.match(part) and _YEAR_GROUP.match(parts[index - 1]):
            out[-1] += part
            continue
        if _YEAR_GROUP.match(part) and index + 1 < len(parts) and _SEQUENCE.match(parts[index + 1]):
            code = ""
            while out and len(code + out[-1]) <= MAX_CODE and out[-1] not in BREAK_AFTER \
                    and out[-1][-1] not in CLOSING and not _is_number(out[-1]):
                code = out.pop() + code
            part = code + part
        out.append(part)
    return out


def _join_groups(parts: list[str], width: int) -> list[str]:
    """Make each bracket group no wider than half a line one atom."""
    spans, stack = [], []  # (first part, last part) of each outermost group
    for index, part in enumerate(parts):
        for char in part:
            if char in _PAIRS:
                stack.append((_PAIRS[char], index, char in _WHOLE))
            elif stack and char == stack[-1][0]:
                _, first, whole = stack.pop()
                if not stack and whole:
                    spans.append((first, index))
    joined, taken = [], 0
    for first, last in spans:
        if first < taken:
            continue
        if text_units("".join(parts[first:last + 1])) <= width // 2:
            joined.extend(parts[taken:first])
            joined.append("".join(parts[first:last + 1]))
            taken = last + 1
    return joined + parts[taken:]


def _is_number(atom: str) -> bool:
    core = atom[1:] if atom.startswith("第") else atom
    return bool(core) and bool(_NUMBER.match(core)) and any(c.isdigit() for c in core)


# -- scoring --------------------------------------------------------------------------------------
def _break_costs(parts: list[str]) -> list[float]:
    """costs[i]: the cost of a line break between parts[i] and parts[i + 1]."""
    costs: list[float] = []
    closers: list[str] = []
    for i, part in enumerate(parts[:-1]):
        for char in part:
            if char in _PAIRS:
                closers.append(_PAIRS[char])
            elif closers and char == closers[-1]:
                closers.pop()
        before, after = part.rstrip(CLOSING), parts[i + 1].lstrip(OPENING)
        structure = before in BREAK_AFTER or before.endswith("的") or after.startswith(BREAK_BEFORE)
        cost = 0.0 if structure else WORD
        if after.startswith("的"):
            cost += BEFORE_DE
        if closers or (parts[i + 1][:1] in "（(" and parts[i + 1][-1] in "）)"):
            cost += IN_GROUP  # inside a group, or before a parenthesis kept whole: （试行） qualifies its word
        if _single(before) or _single(after):
            cost += NEAR_SINGLE
        if after[:1] in PLACE_SUFFIXES and not structure and not _is_number(before):
            cost += IN_NAME
        costs.append(cost)
    return costs


def _single(word: str) -> bool:
    word = "".join(c for c in word if c not in _PUNCT)
    return len(word) == 1 and word not in FUNCTION_CHARS


def shape_violation(widths: list[int]) -> int:
    """Units of width by which line widths depart from a 梯形 (non-increasing) or, with three
    lines or more, a 菱形 (non-decreasing up to a middle line, non-increasing after it)."""
    best = None
    for peak in range(max(1, len(widths) - 1)):  # the peak: the first line (梯形) or a middle one
        rise = sum(max(0, widths[i] - widths[i + 1]) for i in range(peak))
        fall = sum(max(0, widths[i + 1] - widths[i]) for i in range(peak, len(widths) - 1))
        best = rise + fall if best is None else min(best, rise + fall)
    return best or 0


def score(lines: list[str], break_costs: float = 0.0) -> float:
    """The score of a breaking (lower is better): shape, balance and the costs of its breaks."""
    widths = [text_units(line) for line in lines]
    mean = sum(widths) / len(widths)
    balance = BALANCE * sum(((w - mean) / EM) ** 2 for w in widths)
    equal = EQUAL * sum(1 for a, b in zip(widths, widths[1:]) if abs(a - b) < EM / 2)
    lone = LONE_DOCTYPE if len(lines) > 1 and lines[-1] in DOC_TYPES else 0.0
    return SHAPE * shape_violation(widths) / EM + balance + equal + break_costs + lone


def valid(lines: list[str], width: int = LINE_UNITS) -> bool:
    """The hard rules a line keeps: not wider than the line, not one or two characters alone."""
    return all(text_units(line) <= width for line in lines) and (
        len(lines) == 1 or all(visible_chars(line) >= MIN_LINE_CHARS for line in lines))


# -- breaking -------------------------------------------------------------------------------------
def split_title(text: str, width: int = LINE_UNITS) -> list[str]:
    """The lines of a title: `width` half-width units at most each, broken by the rules above."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    if not text:
        return []
    if text_units(text) <= width:
        return [text]
    parts = atoms(text, width) if len(text) <= MAX_SEGMENTED else list(text)
    if max(text_units(p) for p in parts) > width:  # a word wider than a line: cut it by characters
        parts = [piece for p in parts for piece in _cut(p, width)]
    if text_units(text) > MAX_LINES * width:
        return _greedy(parts, width)
    costs = _break_costs(parts)
    ends = [0]  # ends[k]: the width of parts[:k] on one line, gaps included
    for k, part in enumerate(parts):
        ends.append(ends[-1] + text_units(part) + (_autospace(parts[k - 1][-1], part[0]) if k else 0))
    span = lambda a, b: ends[b] - ends[a] - (_autospace(parts[a - 1][-1], parts[a][0]) if a else 0)
    first = -(-ends[-1] // width)
    for count in range(first, MAX_LINES + 1):
        best: tuple[float, list[str]] | None = None
        for cuts in combinations(range(1, len(parts)), count - 1):
            bounds = (0, *cuts, len(parts))
            if any(span(a, b) > width for a, b in zip(bounds, bounds[1:])):
                continue
            lines = ["".join(parts[a:b]) for a, b in zip(bounds, bounds[1:])]
            if not valid(lines, width):
                continue
            value = score(lines, sum(costs[c - 1] for c in cuts))
            if best is None or value < best[0]:
                best = (value, lines)
        if best is not None:
            return [line.strip() for line in best[1]]
    return _greedy(parts, width)  # no breaking keeps the rules: fill the lines


def _cut(part: str, width: int) -> list[str]:
    pieces, line = [], ""
    for char in part:
        if line and text_units(line + char) > width:
            pieces.append(line)
            line = ""
        line += char
    return pieces + [line]


def _greedy(parts: list[str], width: int) -> list[str]:
    """Fill each line with as many atoms as fit (titles too long for the search)."""
    lines = [""]
    for part in parts:
        if lines[-1] and text_units(lines[-1] + part) > width:
            lines.append("")
        lines[-1] += part
    return lines
