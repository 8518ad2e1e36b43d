"""The read paths over many items (engine/reads.py): `worklist` gives the same lists, items and
order as evaluating every item with its whole history (the engine's former way, kept here as the
reference) on a workspace with items in every kind of list: an owner's, a `when` list, 待会签, a
delegated role's, 督办 after a tick; `list` pages with a total; and neither runs more statements
for more items. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from helpers import USERS, add_users, clean_school_values, fire, inspection_values, plan_values
from sqlalchemy import event, insert, select

from workflow.definition import expressions
from workflow.definition.model import CREATE, Definition, Worklist
from workflow.engine import countersign, delegation, edits, guards, reads, registry, timers, users, views
from workflow.engine.tick import tick
from workflow.errors import BadInput, Refused
from workflow.store.orm import Event, Item

OFFICES = [("zhoujie", "周杰", "人事股股长", ["personnel"]), ("wuli", "吴莉", "基础教育股股长", ["basic_edu"])]
LOGINS = [u[0] for u in USERS] + [o[0] for o in OFFICES] + ["admin", "nobody_has_roles"]


# -- the reference: every item, its whole history, as Engine.worklist did before reads.py ---------
def reference_worklist(engine, login: str) -> list[views.Worklist]:
    now = engine.now()
    with engine.db.read() as session:
        actor = delegation.with_grants(session, users.actor(session, login), now)
        lists: dict[tuple[str, str], tuple[Definition, Worklist, list[views.ItemSummary]]] = {}
        for item in session.scalars(select(Item).order_by(Item.id)):
            definition = registry.pinned(session, item.definition_hash)
            roles = set(actor.roles_on(item.creator)) | delegation.delegated_roles(actor)
            if guards.unit_refusal(definition, "worklist", actor, item.fields):
                continue
            events = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)))
            holding = []
            context = None
            for wl in definition.worklists.values():
                if item.state not in wl.states:
                    continue
                if wl.when:
                    context = context or guards.expression_context(
                        definition, subject(engine, definition, item, events), actor, now)
                    if not expressions.evaluate(wl.when, context)[0]:
                        continue
                holding.append(wl)
            if countersign.spec_of(definition, item.state) and countersign.waiting_for(definition, item, events,
                                                                                       actor):
                holding.append(countersign.WORKLIST)
            holding += timers.worklists_of(session, item, definition)
            for wl in holding:
                if wl.roles and not roles & set(wl.roles):
                    continue
                found = lists.setdefault((definition.id, wl.id), (definition, wl, []))
                found[2].append(views.summary(item, definition))
        return [views.Worklist(workflow=d.id, workflow_title=d.title, worklist=wl.id, title=wl.title,
                               items=tuple(items)) for d, wl, items in lists.values()]


def subject(engine, definition: Definition, item: Item, events: list[Event]) -> guards.Subject:
    past: dict[str, set[str]] = {CREATE: {item.creator}}
    for e in events:
        if e.transition != CREATE:
            past.setdefault(e.transition, set()).add(e.actor)
    return guards.Subject(key=item.key, state=item.state, title=item.title, creator=item.creator,
                          fields=item.fields, numbers=item.numbers, past_actors=past,
                          calendar=timers.LazyCalendar(engine.ws),
                          body_changed=edits.body_changed(definition, events, item.fields))


# -- a workspace with something on every kind of list -------------------------------------------
def plan_item(engine, creator="zhangwei", to="draft", **values) -> str:
    key = engine.create(creator, "plan", values=plan_values(**values)).key
    steps = {"draft": [], "review": [(creator, "submit")],
             "countersign": [(creator, "submit"), ("lina", "to_countersign")],
             "approve": [(creator, "submit"), ("lina", "forward")],
             "signed": [(creator, "submit"), ("lina", "forward"), ("wangqiang", "approve")],
             "publish": [(creator, "submit"), ("lina", "forward"), ("wangqiang", "approve"), ("chenjing", "publish")],
             "returned": [(creator, "submit")]}[to]
    for login, transition in steps:
        fire(engine, login, key, transition)
    if to == "returned":
        fire(engine, "lina", key, "return", "请修改。")
    assert engine.show("zhaomin", key).state == to
    return key


def rectifying(engine, report_due: str) -> str:
    values = inspection_values(self_score="90", self_report="自评", conclusion="通过", overall="良好")
    key = engine.create("liuyang", "inspection", values=values).key
    for login, transition in [("liuyang", "notify"), ("liuyang", "start_visit"), ("liuyang", "submit"),
                              ("lina", "forward"), ("wangqiang", "approve")]:
        fire(engine, login, key, transition)
    fire(engine, "chenjing", key, "publish", notice_issued="2025-03-10", report_due=report_due)
    return key


@pytest.fixture
def mixed(workspace, engine, monkeypatch):
    """Items in every state of plan, an inspection overdue after tick (督办), clean_school items
    in publicity (a `when` over today), 会签 waiting for one office or two, a delegation."""
    add_users(workspace, OFFICES)
    timers.bootstrap_system(workspace, "admin")
    keys = {
        "draft": plan_item(engine), "draft_boss": plan_item(engine, "boss"),
        "review_urgent": plan_item(engine, to="review", urgency="特急"),
        "review": plan_item(engine, "xuming", to="review"),
        "cosign_two": plan_item(engine, to="countersign", cosign_offices="计划财务股、人事股", urgency="加急"),
        "cosign_one": plan_item(engine, "xuming", to="countersign", cosign_offices="计划财务股、人事股"),
        "cosign_edu": plan_item(engine, to="countersign", cosign_offices="基础教育股"),
        "approve": plan_item(engine, to="approve"), "signed": plan_item(engine, to="signed", urgency="加急"),
        "publish": plan_item(engine, to="publish", issue_date="2025-03-10", copies=30),
        "returned": plan_item(engine, "xuming", to="returned"),
    }
    countersign.record(engine, "sunhua", keys["cosign_one"], "同意")
    keys["late"] = rectifying(engine, "2025-03-12")
    keys["on_time"] = rectifying(engine, "2025-04-30")
    keys["inspection_draft"] = engine.create("liuyang", "inspection", values=inspection_values()).key
    for start, end in (("2025-03-03", "2025-03-07"), ("2025-03-11", "2025-03-20")):
        key = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
        fire(engine, "zhangwei", key, "submit")
        fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
        fire(engine, "wangqiang", key, "approve", city_score="95", publicity_start=start, publicity_end=end)
        keys[f"publicity_{end}"] = key
    delegation.delegate(workspace, "wangqiang", "wangqiang", "chenjing", ["supervisor"], "2025-03-31", None,
                        "局长外出学习")
    monkeypatch.setenv("GONGWEN_NOW", "2025-03-13T08:00:00")
    assert sorted(d.kind for d in tick(engine)) == ["overdue", "timer"]  # 督办, and a 公示 over
    return keys


def test_worklist_is_the_same_as_reading_every_history(workspace, engine, mixed):
    seen = set()
    for login in LOGINS:
        try:
            expected = reference_worklist(engine, login)
        except Refused:
            with pytest.raises(Refused):
                reads.worklist(workspace, login, engine.now())
            continue
        assert reads.worklist(workspace, login, engine.now()) == expected, login
        seen |= {(wl.workflow, wl.worklist) for wl in expected}
    # the workspace exercises every kind of list
    assert {("plan", "drafts"), ("plan", "urgent"), ("plan", "countersign"), ("plan", "to_approve"),
            ("plan", "returned"), ("inspection", "overdue_rectification"), ("clean_school", "to_publish"),
            ("clean_school", "in_publicity")} <= seen
    lists = {wl.worklist: [i.key for i in wl.items] for wl in reads.worklist(workspace, "zhoujie", engine.now())}
    assert lists == {"countersign": [mixed["cosign_two"], mixed["cosign_one"]]}
    chenjing = {wl.worklist: [i.key for i in wl.items] for wl in reads.worklist(workspace, "chenjing", engine.now())}
    assert chenjing["to_approve"] == [mixed["approve"]]  # wangqiang's, delegated
    assert chenjing["overdue_rectification"] == [mixed["late"]]
    assert mixed["publicity_2025-03-07"] in chenjing["to_publish"]
    assert mixed["publicity_2025-03-20"] not in chenjing["to_publish"]


def test_a_page_of_each_worklist_is_its_first_items_with_the_total(workspace, engine, mixed):
    """With a limit, each list holds its first `limit` items by id and the number it holds in
    all; the lists and their order are those of the whole worklist. Lists without a row to read
    are counted in SQL (the index ix_items_worklist), the others evaluated row by row."""
    more = [plan_item(engine, to="signed") for _ in range(3)] + [plan_item(engine, "xuming") for _ in range(2)]
    assert more
    checked = 0
    for login in LOGINS:
        try:
            whole = reads.worklist(workspace, login, engine.now())
        except Refused:
            continue
        for limit in (1, 2):
            paged = reads.worklist(workspace, login, engine.now(), limit=limit)
            assert [(wl.workflow, wl.worklist) for wl in paged] == [(wl.workflow, wl.worklist) for wl in whole]
            for page, every in zip(paged, whole):
                assert page.items == every.items[:limit], (login, every.worklist)
                assert page.total == len(every.items), (login, every.worklist)
                checked += page.total > limit
    assert checked >= 3  # lists longer than a page: counted, not read
    with pytest.raises(BadInput):
        reads.worklist(workspace, "chenjing", engine.now(), limit=0)


def test_an_unknown_user_is_refused(workspace, engine):
    for call in (lambda: reads.worklist(workspace, "nobody", engine.now()),
                 lambda: reads.list_items(workspace, "nobody")):
        with pytest.raises(Refused) as caught:
            call()
        assert caught.value.reason == "unknown_user"


# -- list: pages and the total --------------------------------------------------------------------
def test_list_pages_with_a_total(workspace, engine):
    keys = [plan_item(engine, "zhangwei" if n % 2 else "xuming") for n in range(7)]
    everything, total = reads.list_items(workspace, "zhaomin")
    assert [i.key for i in everything] == keys and total == 7
    pages = [reads.list_items(workspace, "zhaomin", limit=3, offset=o) for o in (0, 3, 6)]
    assert [[i.key for i in page] for page, _ in pages] == [keys[0:3], keys[3:6], keys[6:]]
    assert {total for _, total in pages} == {7}
    assert reads.list_items(workspace, "zhaomin", limit=3, offset=7) == ([], 7)  # past the end: empty, the total
    assert reads.list_items(workspace, "zhaomin", limit=3, offset=100) == ([], 7)
    mine, total = reads.list_items(workspace, "zhangwei", mine=True, limit=2, offset=1)
    assert [i.key for i in mine] == [keys[3], keys[5]] and total == 3
    assert reads.list_items(workspace, "zhaomin", workflow="inspection", limit=5) == ([], 0)
    drafts, total = reads.list_items(workspace, "zhaomin", state="draft", limit=5, offset=5)
    assert [i.key for i in drafts] == keys[5:] and total == 7
    with engine.db.read() as session:  # the same summaries as from the ORM row
        item = session.scalars(select(Item).where(Item.key == keys[0])).one()
        assert everything[0] == views.summary(item, registry.pinned(session, item.definition_hash))
    page = reads.list_page(workspace, "zhaomin", limit=2, offset=4)
    assert isinstance(page, list) and [i.key for i in page] == keys[4:6]
    assert (page.total, page.limit, page.offset) == (7, 2, 4)
    for bad in ({"limit": 0}, {"limit": -1}, {"offset": -1}, {"limit": True}):
        with pytest.raises(BadInput):
            reads.list_items(workspace, "zhaomin", **bad)


def test_list_command_pages(gw, engine):
    keys = [plan_item(engine) for _ in range(5)]
    import json

    shown = json.loads(gw("--json", "--as", "zhaomin", "list", "--limit", "2", "--page", "2").stdout)
    assert [i["key"] for i in shown["items"]] == keys[2:4]
    assert (shown["total"], shown["limit"], shown["offset"]) == (5, 2, 2)
    shown = json.loads(gw("--json", "--as", "zhaomin", "list").stdout)
    assert len(shown["items"]) == 5 and (shown["total"], shown["limit"], shown["offset"]) == (5, 50, 0)
    shown = json.loads(gw("--json", "--as", "zhaomin", "list", "--all").stdout)
    assert len(shown["items"]) == 5 and (shown["total"], shown["limit"], shown["offset"]) == (5, None, 0)
    text = gw("--as", "zhaomin", "list", "--limit", "2").stdout
    assert "showing 1–2 of 5; next: --page 2" in text
    assert "showing 5–5 of 5" in gw("--as", "zhaomin", "list", "--limit", "2", "--offset", "4").stdout
    assert "showing none of 5 (offset 9)" in gw("--as", "zhaomin", "list", "--offset", "9").stdout
    for bad in (["--limit", "0"], ["--limit", "x"], ["--offset", "-1"], ["--page", "0"],
                ["--page", "2", "--offset", "1"], ["--all", "--limit", "3"]):
        result = gw("--as", "zhaomin", "list", *bad)
        assert result.exit_code == 2, (bad, result.output)


def test_worklist_command_pages(gw, engine):
    drafts = [plan_item(engine) for _ in range(4)]
    import json

    shown = json.loads(gw("--json", "--as", "zhangwei", "worklist", "--limit", "3").stdout)
    lists = {wl["worklist"]: wl for wl in shown["worklists"]}
    assert [i["key"] for i in lists["drafts"]["items"]] == drafts[:3] and lists["drafts"]["total"] == 4
    assert shown["limit"] == 3
    shown = json.loads(gw("--json", "--as", "zhangwei", "worklist", "--all").stdout)
    assert [i["key"] for i in shown["worklists"][0]["items"]] == drafts and shown["limit"] is None
    text = gw("--as", "zhangwei", "worklist", "--limit", "3").stdout
    assert "(4)" in text and "showing 1–3 of 4; all: --all" in text
    for bad in (["--limit", "0"], ["--all", "--limit", "3"]):
        assert gw("--as", "zhangwei", "worklist", *bad).exit_code == 2, bad


# -- statements: as many for 60 items as for 10 -----------------------------------------------------
def clone(workspace, key: str, times: int) -> None:
    """`times` copies of an item with its events (new keys and hashes; reads do not verify them)."""
    with workspace.db.write() as session:
        row = session.execute(select(Item.__table__).where(Item.key == key)).mappings().one()
        events = session.execute(select(Event.__table__).where(Event.item_id == row["id"])
                                 .order_by(Event.seq)).mappings().all()
        for _ in range(times):
            new_key = f"{key}-{uuid.uuid4().hex[:8]}"
            item = {k: v for k, v in row.items() if k != "id"} | {"key": new_key}
            new_id = session.execute(insert(Item.__table__).values(**item)).inserted_primary_key[0]
            for e in events:
                session.execute(insert(Event.__table__).values(
                    {k: v for k, v in e.items() if k != "id"} | {"item_id": new_id, "item_key": new_key,
                                                                 "hash": uuid.uuid4().hex + uuid.uuid4().hex}))


def statements(workspace, call) -> int:
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    event.listen(workspace.db.engine, "before_cursor_execute", counted)
    try:
        call()
    finally:
        event.remove(workspace.db.engine, "before_cursor_execute", counted)
    return count


def test_statements_do_not_grow_with_the_items(workspace, engine, mixed):
    now = engine.now()
    logins = ("zhoujie", "chenjing", "lina", "zhangwei", "liuyang")

    def counts() -> list[int]:
        found = [statements(workspace, lambda login=login: reads.worklist(workspace, login, now)) for login in logins]
        return found + [statements(workspace, lambda: reads.list_items(workspace, "zhaomin", limit=5, offset=3))]

    for login in logins:  # parse and cache the definitions first
        reads.worklist(workspace, login, now)
    few = counts()
    before = {login: reads.worklist(workspace, login, now) for login in logins}
    for name in ("cosign_two", "late", "review_urgent", "draft", "publicity_2025-03-07", "approve"):
        clone(workspace, mixed[name], 9)
    many = counts()
    assert many == few
    for login in logins:  # and the clones are on the lists
        after = reads.worklist(workspace, login, now)
        assert after == reference_worklist(engine, login)
        assert sum(len(wl.items) for wl in after) > sum(len(wl.items) for wl in before[login]) or not before[login]
    with workspace.db.read() as session:
        assert session.query(Item).count() >= 60


def test_the_garbage_collector_is_back_on_after_a_read(workspace, engine):
    import gc

    plan_item(engine)
    reads.list_items(workspace, "zhaomin")
    reads.worklist(workspace, "zhangwei", engine.now())
    assert gc.isenabled()
    gc.disable()
    try:
        reads.list_items(workspace, "zhaomin")
        assert not gc.isenabled()  # a caller's setting is left as it was
    finally:
        gc.enable()


def test_a_school_sees_only_its_own_items(tmp_path, db_url):
    """On the shipped workflows, a school's user (a unit) sees its own school's items waiting, not
    another school's: the same as the reference."""
    from helpers import ALL_USERS

    from workflow.engine.engine import Engine
    from workflow.store.workspace import init

    ws = init(tmp_path / "shipped", db_url=db_url)
    try:
        add_users(ws, ALL_USERS)
        engine = Engine(ws)
        keys = {}
        for school in ("某某县第一实验小学", "某某县城关中学"):  # wufang's, chengang's
            keys[school] = engine.create("liuyang", "inspection", values=inspection_values(school=school)).key
            fire(engine, "liuyang", keys[school], "notify")
        for login in ("wufang", "chengang", "liuyang", "zhaomin"):
            assert reads.worklist(ws, login, engine.now()) == reference_worklist(engine, login), login
        [waiting] = reads.worklist(ws, "wufang", engine.now())
        assert [i.key for i in waiting.items] == [keys["某某县第一实验小学"]]
    finally:
        ws.close()


def test_what_a_when_reads_decides_whether_it_is_memoised():
    assert reads.reads_of("fields.urgency in ['特急', '加急']") == (("fields", "urgency"),)
    assert reads.reads_of("item.state == 'publicized' or (fields.end and fields.end < today)") == (
        ("item", "state"), ("fields", "end"))
    assert reads.reads_of("user.roles and workdays(fields['a'], today) > 3") == (("fields", "a"),)
    for whole in ("fields", "fields.items()", "fields[name]", "item.fields.a", "item.body_changed", "other"):
        assert reads.reads_of(whole) is None, whole
