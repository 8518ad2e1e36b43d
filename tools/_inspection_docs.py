"""The official documents of the inspection (督导) workflow, issued by the county's 教育督导室
(``settings.issuer_name`` of the transition that renders them): to the school in 信函格式 (督导通知书,
督导意见书, 整改通知书, 整改复查报告), and the 督导结果通报 to every school under the 督导室's 文件 版头.
"""

import _forms as forms
from _gbt9704 import blank, heading, row, table, tag, tag_row
from _letter import FILE, LETTER, body, official, record, signature

NUMBER = "{{ numbers.%s or '' }}"
# "2024年4月15日至4月16日，" style period of the site visit; empty when no dates are known
VISIT = forms.VISIT_RANGE + "{% if visit_start %}，{% endif %}"
SEQ, DATE = forms.SEQ, forms.DATE
FINDINGS = "(findings or [])"
CLOSED = "{%p set closed = (findings or [])|selectattr('status', 'equalto', '已销号')|list %}"


def small_table(doc, widths, header, centered=(0,)):
    """A 小四 table with a header row repeated on every page; ``centered``: the columns of
    numbers and dates (序号 first)."""
    t = table(doc, widths, small=True, centered=centered)
    row(t, *header, header=True)
    return t


def notice():
    """督导通知书: sent to the school before the site visit."""
    doc = official("督导通知书", "督导检查", "关于对{{ school }}开展{{ kind }}的通知", "{{ school }}：",
                   NUMBER % "notice_letter", LETTER)
    body(doc, "根据{% if basis %}{{ basis }}{% else %}年度教育督导工作安排{% endif %}，"
              "我室决定对你校开展{{ kind }}{% if topic %}，督导事项为{{ topic }}{% endif %}。"
              "现将有关事项通知如下：")
    heading(doc, 1, "一、督导时间")
    body(doc, "{% if visit_start %}{{ visit_start|cn_date }}{% if visit_end and visit_end != "
              "visit_start %}至{{ visit_end|cn_date }}{% endif %}。{% else %}另行通知。{% endif %}")
    heading(doc, 1, "二、督导组成员")
    tag(doc, "{%p for m in team or [] %}")
    body(doc, "{{ m.role or '成员' }}：{{ m.name }}{% if m.kind %}（{{ m.kind }}）{% endif %}")
    tag(doc, "{%p endfor %}")
    heading(doc, 1, "三、督导方式")
    body(doc, "督导组将采取听取汇报、查阅资料、实地查看、随堂听课、座谈访谈、问卷调查等方式，"
              "全面了解学校办学情况。")
    heading(doc, 1, "四、有关要求")
    body(doc, "1.请你校认真组织自评，在实地督导开始前形成自评报告并报送督导组。")
    body(doc, "2.请提前准备学校发展规划、规章制度、会议记录、经费收支、教育教学等资料，"
              "按督导组要求如实提供。")
    body(doc, "3.请统筹安排汇报、座谈、听课和访谈等活动，确保正常教育教学秩序不受影响。")
    signature(doc, "{{ (notice_date or event.date)|cn_date }}")
    return doc


def opinion():
    """督导意见书 (《教育督导条例》第二十一条): the evaluation after the visit: 总体评价, 主要成绩,
    得分 and 督导结论, the problems found (their descriptions) and 意见建议. The specific 整改
    requirements and deadlines follow in the separate 整改通知书."""
    doc = official("督导意见书", "督导检查", "关于{{ school }}{{ kind }}的督导意见书", "{{ school }}：",
                   NUMBER % "opinion_letter", LETTER)
    body(doc, VISIT + "我室督导组对你校进行了{{ kind }}。督导组通过听取汇报、"
         "查阅资料、实地查看{% if lessons %}、随堂听课{{ lessons }}节{% endif %}{% if interviews %}"
         "、个别访谈{{ interviews }}人次{% endif %}{% if forums %}、召开座谈会{{ forums }}场"
         "{% endif %}{% if surveys %}、问卷调查{{ surveys }}份{% endif %}等方式，结合学校自评"
         "{% if self_score is not none %}（自评得分{{ self_score }}分）{% endif %}情况，"
         "对学校工作进行了全面了解{% if feedback_date %}，并于{{ feedback_date|cn_date }}向学校"
         "反馈了初步意见{% endif %}。经审定，现提出督导意见如下。")
    heading(doc, 1, "一、总体评价")
    body(doc, "{{ overall or '' }}")
    heading(doc, 1, "二、主要成绩")
    body(doc, "{{ strengths or '' }}")
    heading(doc, 1, "三、督导结论")
    body(doc, "{% if score is not none %}督导评估得分{{ score }}分，{% endif %}"
              "督导结论为{% if conclusion %}“{{ conclusion }}”{% else %}待定{% endif %}。")
    heading(doc, 1, "四、存在的主要问题")
    tag(doc, "{%p for f in findings or [] %}")
    body(doc, "{{ loop.index }}.{{ (f.description or '')|trim('。') }}。")
    tag(doc, "{%p else %}")
    body(doc, "督导中未发现需要限期整改的问题。")
    tag(doc, "{%p endfor %}")
    heading(doc, 1, "五、意见建议")
    body(doc, "{{ suggestions or '' }}")
    body(doc, "{% if findings %}针对上述问题的具体整改要求和整改期限，我室将另行下达整改通知书，"
              "请你校按要求认真组织整改。{% else %}请你校巩固督导成果，持续提升办学水平。{% endif %}")
    signature(doc, "{{ event.date|cn_date }}")
    return doc


def rectify():
    """整改通知书: the findings with their requirements and deadlines, and the report's due date."""
    doc = official("整改通知书", "督导检查", "关于{{ school }}督导问题限期整改的通知", "{{ school }}：",
                   NUMBER % "rectify_letter", LETTER)
    body(doc, VISIT + "我室对你校开展了{{ kind }}{% if numbers.opinion_letter %}，并下达了督导意见书"
                      "（{{ numbers.opinion_letter }}）{% endif %}。现将督导发现的问题及整改要求通知如下，"
                      "请认真组织整改。")
    heading(doc, 1, "一、问题及整改要求")
    t = small_table(doc, [SEQ, 2000, 2000, DATE, 1784],
                    ["序号", "问题描述", "整改要求", "整改期限", "责任单位（人）"], (0, 3))
    tag_row(t, "{%tr for f in findings or [] %}")
    row(t, "{{ loop.index }}", "{{ f.description or '' }}{% if f.severity == '重大' %}（重大）{% endif %}",
        "{{ f.requirement or '' }}", "{{ f.deadline|cn_date if f.deadline else '' }}",
        "{{ f.dept or '' }}{% if f.person %}（{{ f.person }}）{% endif %}")
    tag_row(t, "{%tr endfor %}")
    blank(doc)
    heading(doc, 1, "二、有关要求")
    heading(doc, 2, "（一）压实整改责任。")
    body(doc, "学校主要负责人是整改工作第一责任人，要逐项明确责任单位、责任人和完成时限，"
              "建立整改台账，整改一项、销号一项。")
    heading(doc, 2, "（二）按期报送整改报告。")
    body(doc, "请于{% if report_due %}{{ report_due|cn_date }}前{% else %}收到本通知之日起30日内"
              "{% endif %}将整改报告及佐证材料报送我室。")
    heading(doc, 2, "（三）接受复查验收。")
    body(doc, "我室将组织督学对整改情况进行复查验收。逾期未完成或整改不到位的，予以通报，"
              "并依照有关规定处理。")
    signature(doc, "{{ (notice_issued or event.date)|cn_date }}")
    return doc


def recheck():
    """整改复查报告: the recheck of every finding and the opinion."""
    doc = official("整改复查报告", "督导检查", "关于{{ school }}督导整改情况的复查报告", None,
                   NUMBER % "recheck_letter", LETTER)
    tag(doc, CLOSED)
    body(doc, "{% if notice_issued %}{{ notice_issued|cn_date }}，{% endif %}我室向{{ school }}"
              "下达整改通知书{% if numbers.rectify_letter %}（{{ numbers.rectify_letter }}）{% endif %}，"
              "列明问题{{ " + FINDINGS + "|length }}项。{% if report_received %}学校于"
              "{{ report_received|cn_date }}报送了整改报告。{% endif %}"
              "{% if recheck_date %}{{ recheck_date|cn_date }}，{% endif %}"
              "督学对整改情况进行了复查，现将有关情况报告如下。")
    heading(doc, 1, "一、整改完成情况")
    body(doc, "督导发现的{{ " + FINDINGS + "|length }}项问题中，已销号{{ closed|length }}项。"
              "逐项情况如下：")
    t = small_table(doc, [SEQ, 2364, 1400, 1120, DATE, 900],
                    ["序号", "问题描述", "复查结果", "状态", "销号日期", "验收人"], (0, 2, 3, 4))
    tag_row(t, "{%tr for f in findings or [] %}")
    row(t, "{{ loop.index }}", "{{ f.description or '' }}", "{{ f.recheck_result or '' }}",
        "{{ f.status or '' }}", "{{ f.closed_on|cn_date if f.closed_on else '' }}",
        "{{ f.verifier or '' }}")
    tag_row(t, "{%tr endfor %}")
    blank(doc)
    heading(doc, 1, "二、复查意见")
    body(doc, "{{ recheck_opinion or '' }}")
    body(doc, "特此报告。")
    signature(doc, "{{ (recheck_date or event.date)|cn_date }}")
    return doc


def bulletin():
    """督导结果通报: the 督导室's 文件 to every school: the school, the kind of inspection, the visit,
    the score and 结论, the problems found and how many are closed."""
    doc = official("督导结果通报", "督导检查", "关于{{ school }}{{ kind }}结果的通报",
                   "各乡镇（街道）中心学校，县直各学校：", NUMBER % "bulletin_number", FILE, mark_size=30)
    tag(doc, CLOSED)
    body(doc, VISIT + "{{ settings.issuer_name }}对{{ school }}开展了{{ kind }}"
                      "{% if topic %}（督导事项：{{ topic }}）{% endif %}。现将督导结果通报如下。")
    heading(doc, 1, "一、督导结果")
    body(doc, "{% if score is not none %}督导评估得分{{ score }}分，{% endif %}"
              "督导结论为{% if conclusion %}“{{ conclusion }}”{% else %}待定{% endif %}。"
              "{{ overall or '' }}")
    heading(doc, 1, "二、问题整改情况")
    body(doc, "督导发现问题{{ " + FINDINGS + "|length }}项，已整改销号{{ closed|length }}项"
              "{% if " + FINDINGS + "|length > closed|length %}，其余{{ " + FINDINGS + "|length - closed|length }}"
              "项正在整改{% endif %}。")
    heading(doc, 1, "三、工作要求")
    body(doc, "各学校要对照督导发现的问题举一反三，开展自查自纠，规范办学行为，"
              "切实把督导结果转化为提升办学水平的实际成效。")
    body(doc, "特此通报。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, "{{ event.date|cn_date }}", cc=None, printer="{{ settings.issuer_name }}")
    return doc


BUILDERS = {
    "督导通知书.docx": notice,
    "督导意见书.docx": opinion,
    "整改通知书.docx": rectify,
    "整改复查报告.docx": recheck,
    "督导结果通报.docx": bulletin,
}
