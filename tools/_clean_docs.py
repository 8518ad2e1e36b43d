"""The official documents of the clean-school (清廉学校) workflow.

The county bureau sends the city a numbered 推荐文件 (a 上行文: 签发人 on the 发文字号's line). The city
(``settings.issuer_name`` of the transitions it takes; ``settings.issuers.city`` elsewhere) publishes
the 公示 and its result as notices without 版头 (公告 format), names the school by a numbered
命名决定, writes to the school in 信函格式 (不予认定通知, 限期整改通知) and revokes a title by a
numbered 撤销通报 to the counties; the 认定证书 is a landscape certificate, not a 公文.
"""

import _forms as forms
from _gbt9704 import KAITI, RED, XBS, R, blank, new_document, page_borders, para, row, table
from _letter import FILE, LETTER, NOTICE, body, official, record, signature

NUMBER = "{{ numbers.%s or '' }}"
TIER = "{{ batch }}年度{{ level or '' }}清廉学校{{ tier }}"
PERIOD = ("{% if publicity_start %}{{ publicity_start|cn_date }}至"
          "{{ publicity_end|cn_date if publicity_end else '' }}{% endif %}")
SUBJECT = "清廉学校认定"


def publicity():
    """公示公告 of the school proposed for naming: the period (working days) and where to object.
    Dated the day it is published, before the period starts."""
    doc = official("公示公告", SUBJECT, "关于" + TIER + "拟认定对象的公示", kind=NOTICE)
    body(doc, "根据清廉学校建设工作安排，经学校自评申报、县级初审推荐、实地查验和集体研究，拟认定"
              "{{ school }}为" + TIER + "，现予以公示。")
    t = table(doc, [3444, 1600, 1900, 1900], small=True, centered=(1, 3))
    row(t, "学校名称", "学段", "申报类型", "评估得分", header=True)
    row(t, "{{ school }}", "{{ stage or '' }}", "{{ tier }}",
        "{{ city_score if city_score is not none else '' }}")
    blank(doc)
    body(doc, "公示时间：" + PERIOD + "（{{ params.publicity_days }}个工作日）。")
    body(doc, "公示期间，对公示对象有异议的，请以书面形式向{{ settings.issuer_name }}反映。反映情况应当"
              "实事求是，并提供具体线索或佐证材料；以个人名义反映的请署真实姓名并留联系方式，"
              "以单位名义反映的请加盖单位公章。")
    body(doc, "受理电话及地址：{{ publicity_contact or '' }}")
    signature(doc, "{{ event.date|cn_date }}")
    return doc


def publicity_over():
    """公示结果: the 公示 period is over (a timer of `gongwen tick`); the school will be named."""
    doc = official("公示结果", SUBJECT, "关于" + TIER + "拟认定对象公示结果的公告", kind=NOTICE)
    body(doc, "{{ school }}" + TIER + "拟认定对象公示{% if publicity_start %}于" + PERIOD + "进行"
              "{% endif %}，现公示期满。{% if objection %}公示期间收到的异议经核查不成立。"
              "{% else %}公示期间未收到异议。{% endif %}")
    body(doc, "根据清廉学校认定有关规定，将按程序对{{ school }}予以命名。")
    body(doc, "特此公告。")
    signature(doc, "{{ event.date|cn_date }}")
    return doc


def refusal():
    """不予认定通知 to the applying school (信函 of the city)."""
    doc = official("不予认定通知", SUBJECT, "关于{{ school }}清廉学校认定结果的通知", "{{ school }}：",
                   NUMBER % "refusal_letter", LETTER)
    body(doc, "你校申报" + TIER + "，经县级初审推荐和{% if city_date %}{{ city_date|cn_date }}"
              "{% endif %}实地查验{% if city_score is not none %}（评估得分{{ city_score }}分）"
              "{% endif %}，经研究，决定不予认定。")
    body(doc, "主要原因：{{ event.comment or city_opinion or '' }}")
    body(doc, "希望你校对照清廉学校建设标准，认真查找差距，完善制度机制，持续推进清廉学校建设，"
              "符合条件后可在以后批次重新申报。")
    body(doc, "特此通知。")
    signature(doc, "{{ event.date|cn_date }}")
    return doc


def recommendation():
    """推荐文件: the county bureau's 上行文 (报告) to the city recommending the school."""
    doc = official("推荐文件", SUBJECT, "关于推荐{{ school }}为{{ batch }}年度市级清廉学校的报告",
                   "{{ settings.issuers.city.name }}：", NUMBER % "recommend_number", FILE,
                   signer="{{ event.actor_name }}")
    body(doc, "根据{{ batch }}年度市级清廉学校创建认定工作安排，{{ school }}对照认定标准开展自评"
              "{% if self_scores %}，自评得分" + forms.SELF_TOTAL + "分{% endif %}，提出申报。"
              "我局组织对申报材料进行了初审，并对照一票否决事项进行了核查。")
    body(doc, "初审意见：{{ (county_opinion or '')|trim('。') }}。")
    body(doc, "经研究，同意推荐{{ school }}参加{{ batch }}年度市级清廉学校{{ tier or '' }}认定"
              "{% if county_rank %}，在我县推荐对象中排序第{{ county_rank }}位{% endif %}。")
    body(doc, "特此报告。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, "{{ event.date|cn_date }}", cc=None)
    return doc


def naming():
    """命名决定: the city names the school (文件 of the city)."""
    doc = official("命名决定", SUBJECT, "关于命名{{ school }}为{{ batch }}年度市级清廉学校{{ tier }}的决定",
                   "各县（市、区）教育局，市直各学校：", NUMBER % "naming_number", FILE)
    body(doc, "根据市级清廉学校创建认定工作安排，经学校自评申报、县级初审推荐、实地查验"
              "{% if publicity_start %}和社会公示（" + PERIOD + "）{% else %}和社会公示{% endif %}，"
              "{% if meeting_date %}{{ meeting_date|cn_date }}{% endif %}经集体研究，"
              "决定命名{{ school }}为{{ batch }}年度市级清廉学校{{ tier }}。")
    body(doc, "命名有效期{% if valid_until %}至{{ valid_until|cn_date }}{% else %}按有关规定执行"
              "{% endif %}。有效期内实行动态管理，经复核不再符合条件的，限期整改或者撤销命名。")
    body(doc, "希望受到命名的学校珍惜荣誉，持续深化清廉学校建设，发挥示范引领作用。")
    signature(doc, "{{ (naming_date or event.date)|cn_date }}")
    record(doc, "{{ (naming_date or event.date)|cn_date }}", cc=None)
    return doc


def rectify():
    """限期整改通知: the recheck found gaps; the school must fix them by a date (信函 of the city)."""
    doc = official("限期整改通知", SUBJECT, "关于{{ school }}清廉学校复核限期整改的通知",
                   "{{ school }}：", NUMBER % "rectify_letter", LETTER)
    body(doc, "{% if recheck_date %}{{ recheck_date|cn_date }}，{% endif %}我局对你校市级清廉学校"
              "{{ tier or '' }}创建成果进行了复核。经复核，你校存在以下需要整改的问题：")
    body(doc, "{{ rectify_items or '' }}")
    body(doc, "请你校认真对照问题制定整改措施，{% if rectify_due %}于{{ rectify_due|cn_date }}前"
              "{% else %}在规定期限内{% endif %}完成整改，并将整改情况书面报送我局。逾期未整改或者整改"
              "不到位的，将撤销市级清廉学校命名。")
    body(doc, "特此通知。")
    signature(doc, "{{ event.date|cn_date }}")
    return doc


def revocation():
    """撤销通报: the city revokes the title and informs the counties (文件 of the city)."""
    doc = official("撤销通报", SUBJECT, "关于撤销{{ school }}市级清廉学校称号的通报",
                   "各县（市、区）教育局：", NUMBER % "revoke_number", FILE)
    body(doc, "{{ school }}{% if naming_date %}于{{ naming_date|cn_date }}{% endif %}被命名为"
              "{{ batch }}年度市级清廉学校{{ tier or '' }}{% if numbers.naming_number %}"
              "（{{ numbers.naming_number }}）{% endif %}。经查，{{ (revoke_reason or '')|trim('。') }}。")
    body(doc, "根据清廉学校动态管理和一票否决有关规定，经研究，决定撤销{{ school }}市级清廉学校称号，"
              "收回证书{% if numbers.certificate_number %}（编号{{ numbers.certificate_number }}）"
              "{% endif %}和标牌。")
    body(doc, "各地要引以为戒，督促学校切实加强党风廉政建设和师德师风建设，巩固清廉学校建设成果。")
    body(doc, "特此通报。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, "{{ event.date|cn_date }}", cc=None)
    return doc


def certificate():
    """认定证书: landscape certificate with a double border, no page number."""
    doc = new_document("认定证书", SUBJECT, landscape=True, page_numbers=None,
                       margins={"top": 1700, "bottom": 1500, "left": 1900, "right": 1900})
    page_borders(doc)
    center = dict(jc="center")
    para(doc, R("清廉学校", XBS, 54, RED), style="GW Title", line=1500, before=300, **center)
    para(doc, R("{{ level or '' }}{{ tier }}", XBS, 26, RED), style="GW Title", line=800,
         after=300, **center)
    para(doc, R("{{ school }}", KAITI, 28), style="GW Title", line=900, after=200, **center)
    para(doc, R("经学校申报、县级初审、实地查验和社会公示，被认定为" + TIER + "。"
                "{% if valid_until %}有效期至{{ valid_until|cn_date }}。{% endif %}特发此证。", KAITI, 18),
         style="GW Body", line=700, first_chars=200, jc="both")
    blank(doc)
    para(doc, R("{{ settings.issuer_name }}", None, 18), style="GW Signature", line=700,
         right=900, jc="right")
    para(doc, R("{{ (award_date or naming_date or event.date)|cn_date_upper }}", None, 18),
         style="GW Signature", line=700, right=900, jc="right")
    para(doc, R("证书编号：{{ numbers.certificate_number or '' }}", None, 12),
         style="GW Body", line=400, before=300)
    return doc


BUILDERS = {
    "公示公告.docx": publicity,
    "公示结果.docx": publicity_over,
    "不予认定通知.docx": refusal,
    "推荐文件.docx": recommendation,
    "命名决定.docx": naming,
    "限期整改通知.docx": rectify,
    "撤销通报.docx": revocation,
    "认定证书.docx": certificate,
}
