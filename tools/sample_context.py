"""Sample render contexts for the Word templates of the shipped workflows.

``sample_context(workflow_id)`` returns a deterministic context shaped like the renderer's: every
item field at top level, plus ``item``, ``numbers``, ``event``, ``history``, ``settings``,
``params`` (from the definition), ``today``, ``review`` (the reviewer's ``forward`` step of the
history) and ``decision`` (the supervisor's ``approve`` of the history, as the copy of the form
filed with the decision shows it). Values are realistic but invented; several contain
``& < > " '`` to exercise escaping. ``sample_context(workflow_id, minimal=True)`` keeps only the
definition's required fields (others None, optional lists empty, no numbers, no history, no
review, no decision) to exercise the templates' handling of missing values.
``sample_context(workflow_id, form=True)`` adds ``form`` (``id``, ``code``, ``token``), as the
renderer passes it for a handed-out approval form (校验码 line and the gongwen_token document
property), and has no decision (the form is not filled in yet); by default there is no ``form``
key.
"""

import copy
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTINGS = {"issuer_name": "某某县教育局", "issuer_code": "某教发"}
# what `gongwen tick` gives a 催办通知 (issue 14): the deadline that passed
DEADLINE = {"id": "rectification", "title": "整改报告报送", "due": "2024-06-28",
            "due_time": "2024-06-29T00:00:00+08:00", "roles": ["inspector", "office"],
            "roles_title": "督学、办公室文书", "escalate_after": "3个工作日", "escalate_to": "局领导"}
FORM = {"id": "JH-2024-0007#3", "code": "JH-2024-0007/r4/f3/0123456789abcdef0123",
        "token": '{"v":1}'}


def _event(transition, title, actor, actor_title, comment, date, time="09:30"):
    return {"transition": transition, "transition_title": title, "actor_name": actor,
            "actor_title": actor_title, "comment": comment, "date": date, "time": time}


SAMPLES = {
    "plan": {
        "fields": {
            "title": '某某县教育局2024年工作要点（"双减"&<课后服务> \'提质\'）',
            "year": 2024,
            "kind": "工作要点",
            "department": "基础教育科",
            "drafter_phone": "0123-4567890",
            "main_to": "各乡镇中心学校，各直属学校，局机关各股室",
            "cc": "县委教育工作领导小组办公室，县人民政府办公室",
            "summary": "坚持立德树人根本任务，围绕“优质均衡”目标，统筹推进学前教育普惠、"
                       "义务教育提质和校园安全治理，办好人民满意的教育 & 群众<身边>的好学校。",
            "sections": [
                {"heading": "推进学前教育普惠发展", "content": "新建、改扩建公办幼儿园，"
                 "扩大普惠性学前教育资源供给。", "target": "新建公办幼儿园4所，普惠性幼儿园覆盖率达到92%",
                 "lead_dept": "基础教育科", "partner_dept": "计划财务科", "leader": "陈副局长",
                 "due": "2024-12-31"},
                {"heading": "深化义务教育“双减”工作", "content": "规范作业管理，提升课后服务质量，"
                 "严格校外培训监管。", "target": "课后服务覆盖率100%", "lead_dept": "基础教育科",
                 "partner_dept": "校外培训监管股", "leader": "刘副局长", "due": "2024-09-30"},
                {"heading": "加强校园安全和后勤管理", "content": "开展校舍、消防、食品安全隐患排查，"
                 "建立问题整改台账。", "target": None, "lead_dept": "安全管理股",
                 "partner_dept": None, "leader": "刘副局长", "due": None},
            ],
            "urgency": "加急",
            "publicity": "主动公开",
            "copies": 60,
            "issue_date": "2024-03-08",
        },
        "item": {"key": "JH-2024-0012", "state_title": "已印发"},
        "numbers": {"doc_number": "某教发〔2024〕12号"},
        "event": _event("publish", "印发", "王芳", "办公室文书", "", "2024-03-08", "10:30"),
        "history": [
            _event("submit", "送核稿", "李明", "拟稿人", "请审核", "2024-02-20"),
            _event("forward", "核稿通过，呈送签发", "张华", "核稿人",
                   '同意，建议将"双减"表述与市局文件一致', "2024-02-22"),
            _event("approve", "签发", "赵强", "签发人", "同意印发", "2024-03-01"),
        ],
        "today": "2024-03-08",
    },
    "inspection": {
        "fields": {
            "school": "某某县第一实验小学",
            "stage": "小学",
            "school_type": "公办",
            "students": 1860,
            "teachers": 112,
            "kind": "综合督导",
            "topic": "办学行为规范与校园安全",
            "basis": "某教督〔2024〕2号",
            "notice_date": "2024-04-01",
            "visit_start": "2024-04-15",
            "visit_end": "2024-04-16",
            "team": [
                {"name": "周敏", "role": "组长", "kind": "专职督学"},
                {"name": "吴刚", "role": "成员", "kind": "兼职督学"},
                {"name": "郑丽", "role": "成员", "kind": "专职督学"},
            ],
            "self_score": 88.5,
            "self_report": "学校对照评估细则逐项自查，办学行为总体规范 & 安全制度健全。",
            "lessons": 12,
            "interviews": 30,
            "forums": 3,
            "surveys": 420,
            "score": 86.0,
            "conclusion": "通过",
            "overall": '学校办学方向正确，管理规范，"五项管理"落实较好；课后服务<内容>还需丰富，'
                       "部分设施存在安全隐患 & 需限期整改。",
            "findings": [
                {"category": "消防", "description": "教学楼二楼消火栓箱被杂物遮挡", "location": "教学楼二楼",
                 "severity": "一般", "basis": "消防安全管理规定第十条", "requirement": "立即清理，"
                 "落实每周巡查", "deadline": "2024-05-15", "dept": "总务处", "person": "孙伟",
                 "status": "已销号", "closed_on": "2024-05-10", "verifier": "周敏"},
                {"category": "食品", "description": "食堂留样记录不完整（<48小时>）", "location": "食堂",
                 "severity": "重大", "basis": None, "requirement": "完善留样制度并培训从业人员",
                 "deadline": "2024-05-31", "dept": "后勤处", "person": "钱红", "status": "已销号",
                 "closed_on": "2024-05-28", "verifier": "吴刚"},
                {"category": "办学行为", "description": "个别班级作业总量超出规定", "location": None,
                 "severity": "一般", "basis": None, "requirement": "建立作业公示制度",
                 "deadline": "2024-06-15", "dept": "教导处", "person": "李芳", "status": "已销号",
                 "closed_on": "2024-06-10", "verifier": "郑丽"},
            ],
            "notice_issued": "2024-04-28",
            "report_due": "2024-06-20",
            "report_received": "2024-06-12",
            "recheck_date": "2024-06-25",
            "recheck_opinion": "经复查，三项问题均已整改到位，同意全部销号。",
        },
        "item": {"key": "DD-2024-0005", "state_title": "已全部销号"},
        "numbers": {"notice_number": "某教发督整〔2024〕3号"},
        "event": _event("complete", "整改完成", "周敏", "督学", "整改到位，同意办结", "2024-06-25"),
        "history": [
            _event("notify", "发出督导通知", "周敏", "督学", "", "2024-04-01"),
            _event("start_visit", "开始实地督导", "周敏", "督学", "", "2024-04-15"),
            _event("submit", "提交督导报告", "周敏", "督学", "", "2024-04-18"),
            _event("forward", "审核通过，报请审定", "黄磊", "审核人", "报告客观，同意报审", "2024-04-20"),
            _event("approve", "审定同意", "赵强", "局领导", "同意", "2024-04-24"),
            _event("publish", "下达整改通知", "王芳", "办公室文书", "", "2024-04-28"),
            _event("close_finding", "销号", "周敏", "督学", "第1项验收合格", "2024-05-10"),
        ],
        "today": "2024-06-25",
    },
    "clean_school": {
        "fields": {
            "school": "某某县城关中学",
            "stage": "初中",
            "level": "市级",
            "tier": "示范校",
            "batch": 2024,
            "contact": "林涛 0123-7654321",
            "self_scores": [
                {"code": "1", "indicator": "组织领导", "score": 14},
                {"code": "2", "indicator": "制度建设与权力运行", "score": 18.5},
                {"code": "3", "indicator": "清廉教育与文化", "score": 19},
                {"code": "4", "indicator": "五清作风", "score": 18},
                {"code": "5", "indicator": None, "score": 14},
                {"code": "6", "indicator": "特色创新", "score": 9},
            ],
            "self_report": '学校建立"小微权力清单"，推行校务公开 & 家校共育；<廉洁文化长廊>'
                           "已建成使用。",
            "veto_items": [
                {"item": "班子成员违纪违法受处分", "hit": False, "note": None},
                {"item": "发生重大师德失范事件", "hit": False, "note": None},
                {"item": "发生重大安全责任事故", "hit": False, "note": "近三年无安全责任事故"},
            ],
            "evidence": "制度汇编、会议记录、公开栏照片、师生问卷",
            "county_opinion": "材料齐全，自评属实，同意推荐",
            "county_rank": 2,
            "city_team": "市教育局清廉学校评估组（组长：何军）",
            "city_date": "2024-04-22",
            "city_score": 92.5,
            "city_opinion": "创建工作扎实，特色鲜明，达到示范校标准。",
            "publicity_start": "2024-05-06",
            "publicity_end": "2024-05-10",
            "objection": "有群众反映食堂采购未公开招标，经核查采购程序合规",
            "naming_date": "2024-05-20",
            "naming_doc": "某教发〔2024〕21号",
            "valid_years": 3,
            "recheck_date": "2026-05-18",
            "recheck_result": "保持",
            "revoke_reason": "学校副校长因违纪受到党内警告处分",
        },
        "item": {"key": "QL-2024-0031", "state_title": "已命名"},
        "numbers": {"certificate_number": "某教发清廉〔2024〕8号"},
        "event": _event("publish", "命名授牌", "王芳", "办公室文书", "", "2024-05-20"),
        "history": [
            _event("submit", "提交申报", "林涛", "申报经办人", "", "2024-03-25"),
            _event("forward", "初审通过", "马丽", "县级初审人", "材料齐全，同意推荐", "2024-04-02"),
            _event("approve", "评估通过", "赵强", "市级评估审定人", "同意公示", "2024-04-28"),
            _event("dismiss_objection", "异议不成立", "马丽", "县级初审人", "经核查反映不实",
                   "2024-05-09"),
        ],
        "today": "2024-05-20",
    },
}


def _definition(workflow_id):
    with open(os.path.join(ROOT, "definitions", workflow_id + ".yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _minimal(fields, spec):
    """Keep required fields; optional ones None (lists empty); list records likewise."""
    result = {}
    for name, field in spec.items():
        value = fields.get(name)
        if field.get("type") == "list":
            records = value if field.get("required") else []
            result[name] = [_minimal(r, field.get("fields") or {}) for r in records or []]
        else:
            result[name] = value if field.get("required") else None
    return result


def sample_context(workflow_id, minimal=False, form=False):
    definition = _definition(workflow_id)
    sample = copy.deepcopy(SAMPLES[workflow_id])
    fields = sample["fields"]
    for name in definition.get("fields") or {}:        # every declared field is present
        fields.setdefault(name, None)
    if minimal:
        fields = _minimal(fields, definition.get("fields") or {})
    item = dict(sample["item"], title=fields.get("title") or fields.get("school"),
                workflow_title=definition["title"], creator_name="李明")
    context = dict(fields)
    context.update(
        item=item,
        numbers={} if minimal else sample["numbers"],
        event={k: v for k, v in sample["event"].items() if k != "transition"},
        history=[] if minimal else sample["history"],
        settings=dict(SETTINGS),
        params=copy.deepcopy(definition.get("params") or {}),
        today=sample["today"],
        deadline=dict(DEADLINE),
    )
    context["review"] = None if minimal else _review(sample["history"])
    context["decision"] = None if minimal or form else _decision(definition, sample["history"])
    if form:
        context["form"] = dict(FORM)
    return context


def _review(history):
    """The reviewer's step as the renderer gives it: the last forward of the history."""
    h = [h for h in history if h["transition"] == "forward"][-1]
    return {"transition": "forward", "transition_title": h["transition_title"], "opinion": h["comment"],
            "actor": "reviewer", "actor_name": h["actor_name"], "actor_title": h["actor_title"],
            "date": h["date"], "time": h["date"] + "T" + h["time"]}


def _decision(definition, history):
    """The decision as the renderer gives it on the filed copy: the last approve of the history,
    read from the form of the definition's forms that decides it."""
    h = [h for h in history if h["transition"] == "approve"][-1]
    spec = next(t["form"] for t in definition["transitions"].values() if (t or {}).get("form")
                and "approve" in t["form"]["decisions"].values())
    options = list(spec["decisions"])
    option = next(o for o, target in spec["decisions"].items() if target == "approve")
    return {"option": option, "transition": "approve", "label": spec.get("decision_label", "审批意见"),
            "options": [{"option": o, "chosen": o == option, "mark": "☑" if o == option else "☐"}
                        for o in options],
            "marks": "\u3000".join(("☑" if o == option else "☐") + o for o in options),
            "signer": "supervisor", "signer_name": h["actor_name"], "signer_title": h["actor_title"],
            "opinion": h["comment"], "date": h["date"], "signed_on": "", "form": None, "from_form": True}
