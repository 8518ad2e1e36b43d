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

# the 校验码 line: key, revision, seq, the first 20 hex of the MAC, the countersigner of a 会签单 (or "")
PrintedCode = tuple[str, int, int, str, str]
CODE_RE = re.compile(r"校验码\s*[:：]\s*([A-Z][A-Z0-9]*-\d{4}-\d+)\s*/\s*r(\d+)\s*/\s*f(\d+)(?:-([a-z0-9._-]+?))?"
                     r"\s*/\s*([0-9a-fA-F]{20})")


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
    code = (match.group(1), int(match.group(2)), int(match.group(3)), match.group(5).lower(),
            match.group(4) or "") if match else None
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
                             str(data["mac"]), str(data.get("party") or ""))
    except (KeyError, ValueError, TypeError, etree.XMLSyntaxError):
        return None
    return None


# -- the decision ------------------------------------------------------------------------------
APPROVE, REJECT, RETURN = "同意", "不同意", "退回修改"  # what a 批示 can decide (the shipped options)
QUALIFIED, UNDECIDED = "a qualified approval", "not a decision"  # what it can say instead

# The 批示's wording, tried in this order; each match is cut out of the text before the next rule,
# so that 同意 is not found again inside 原则同意 or 不同意, nor 签发 inside 不予签发.
_C = r"[^，,。；;！!？?]"  # a character of the same clause
_REVISE = r"(?:修改|修订|完善|补充|调整|征求|核实|斟酌)"
PHRASES: list[tuple[re.Pattern[str], str]] = [(re.compile(pattern), outcome) for pattern, outcome in [
    # qualified approvals: 原则同意 / 拟同意 / 同意，但… / 同意，请先… / 同意，请修改后印发
    (r"(?:原则上?|基本|初步|拟|暂)同意", QUALIFIED),
    (r"(?<![不未])同意[，,。；;、]?(?:但|不过|惟|唯|然|(?:请|须|需|应)先)", QUALIFIED),
    (rf"(?<![不未])同意.*?{_REVISE}|{_REVISE}{_C}{{0,12}}?后再?(?:印发|发文|签发|下发|发布)", QUALIFIED),
    # deferred, passed on, read: 暂缓 / 再议 / 请再研究 / 请李娜同志阅处 / 报市局审批 / 阅 / 请酌处
    (rf"暂缓|暂不{_C}{{0,4}}|缓议|缓发|缓办|再议|另议|(?:再|进一步)(?:研究|斟酌|商议|考虑|论证)|可否", UNDECIDED),
    (rf"(?:请|呈|转|送|报){_C}{{0,6}}?(?:同志|局长|主任|书记|县长|部长|股长|校长|领导)(?:阅|审|签|批|核|定)"
     r"[处示办发批核定阅]?", UNDECIDED),
    (rf"(?:报|提请|提交){_C}{{0,6}}?(?:批准|审批|审定|审核|审议|研究)|办公会|党组会|集体研究|上会|会签", UNDECIDED),
    (r"^(?:已阅|阅|阅知|圈阅)[。.]?$|阅处|阅示|阅办|酌处|酌办|酌定", UNDECIDED),
    # the decisions: 不同意 / 不予签发 — 退回 / 请修改后再报 / 请补充… — 同意 / 如拟 / 可 / 签发
    (rf"(?:不|未)(?:同意|予|批准|准|可|签|印发|通过){_C}{{0,4}}|否决", REJECT),
    (r"退回|退改|打回|重新(?:起草|拟稿|拟制|报送|上报)|(?:修改|修订|完善|补充)后(?:再|重新)?[报呈送]"
     r"|请再?(?:修改|修订|补充|完善)", RETURN),
    (r"同意|如拟|照办|照准|准予|批准|签发|^可以?[。！!.]?$|可以?[，,]?(?:印发|发文|签发|上报)", APPROVE),
]]
CLEAR = (APPROVE, REJECT, RETURN)
AGREES = {  # a ticked option -> what its 批示 may say besides nothing: a return takes any doubt
    APPROVE: {APPROVE}, REJECT: {REJECT}, RETURN: {RETURN, REJECT, QUALIFIED, UNDECIDED}}


def classify(opinion: str) -> list[tuple[str, str]]:
    """What the 批示 says, as (outcome, the words saying it) in the order of PHRASES."""
    rest, said = docx_read.norm(opinion), []
    for pattern, outcome in PHRASES:
        for match in pattern.finditer(rest):
            said.append((outcome, match.group(0)))
        rest = pattern.sub(" ", rest)
    return said


@dataclass(frozen=True)
class Decision:
    option: str | None  # the chosen option, or None: refused
    why: str  # how it was read, or why it was refused (one line)
    refusal: str | None = None  # "ambiguous" or "contradictory" when refused


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


def _kind(option: str) -> str | None:
    """What an option decides, read by the same table (同意 -> 同意, 退回修改 -> 退回修改)."""
    return next((outcome for outcome, _ in classify(option) if outcome in CLEAR), None)


def _quote(opinion: str) -> str:
    flat = " ".join(opinion.split())
    return f"“{flat if len(flat) <= 40 else flat[:39] + '…'}”"


def read_decision(decision_text: str, opinion: str, options: Collection[str]) -> Decision:
    """The decision of a returned form: the option ticked (☑ ☒ ■ √ ✓ ✔ or a checked box) or the
    only one left after deleting the others, provided the 批示 agrees with it (AGREES); else the
    one decision the 批示 writes plainly. Qualified or undecided wording (原则同意, 同意但…, 暂缓,
    阅…) is never read as 同意, and a 批示 that contradicts the box is refused naming both."""
    pattern = _options_pattern(options)
    present, marked = [], []
    for match in pattern.finditer(decision_text):
        option = _canonical(match.group(0), options)
        present.append(option)
        before = _neighbour(decision_text, match.start() - 1, -1)
        after = _neighbour(decision_text, match.end(), 1)
        if before in CHECKED or (before not in UNCHECKED and after in CHECKED):
            marked.append(option)
    marked = list(dict.fromkeys(marked))
    if len(marked) > 1:
        return Decision(None, f"two decisions are ticked: {'、'.join(marked)}", "contradictory")
    said = classify(opinion)
    unclear = next(((outcome, words) for outcome, words in said if outcome not in CLEAR), None)
    written = list(dict.fromkeys(outcome for outcome, _ in said if outcome in CLEAR))
    chosen = marked[0] if marked else None
    if chosen is None and len(set(present)) == 1 and len(options) > 1:
        chosen = present[0]  # the others were deleted
    if chosen is not None:
        agrees = AGREES.get(_kind(chosen) or "", set())
        if unclear and unclear[0] not in agrees:
            return Decision(None, f"the form ticks {chosen} but the opinion {_quote(opinion)} is "
                                  f"{unclear[0]} ({unclear[1]})", "ambiguous")
        against = [outcome for outcome in written if outcome not in agrees]
        if against:
            return Decision(None, f"the form ticks {chosen} but the opinion says {'、'.join(against)} "
                                  f"({_quote(opinion)})", "contradictory")
        return Decision(chosen, "ticked" if marked else "the other options were deleted")
    if unclear:
        return Decision(None, f"the opinion {_quote(opinion)} is {unclear[0]} ({unclear[1]})", "ambiguous")
    if len(written) > 1:
        return Decision(None, f"the opinion names several decisions: {'、'.join(written)} ({_quote(opinion)})",
                        "ambiguous")
    if written:
        named = next((o for o in options if _kind(o) == written[0]), None)
        if named is None:
            return Decision(None, f"the opinion says {written[0]} ({_quote(opinion)}), which is not an option "
                                  f"of this form ({'、'.join(options)})", "ambiguous")
        return Decision(named, "written in the opinion")
    return Decision(None, "no decision is ticked, kept alone or written in the opinion"
                    + (f" ({_quote(opinion)})" if opinion.strip() else ""), "ambiguous")


def decide(decision_text: str, opinion: str, options: Collection[str]) -> tuple[str | None, str]:
    """The chosen option, or None with the reason (see read_decision)."""
    decision = read_decision(decision_text, opinion, options)
    return decision.option, decision.why
