"""Issue 16: the SQL a transition costs, counted (not timed). Every transition of the shipped plan
workflow, fired in-process, runs at most 8 statements besides the transaction's own (BEGIN, the
write lock and, on PostgreSQL, where the lock is taken at the first write, the read under it of the
events appended meanwhile, chain.catch_up; SQLite makes that check itself when the snapshot is
upgraded to a write): the item with the chain's head, its events, the users they name, the item's update,
the event, the blobs at commit, and for 登记 the number's counter and record. An automatic step
that follows in the same unit of work (会签完毕, 重新送签) adds only its update and its event."""

from __future__ import annotations

import pytest
from helpers import fire, plan_values, shipped_users, workspace_copy
from sqlalchemy import event

from workflow.engine import countersign
from workflow.engine.engine import Engine

LIMIT = 8
TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
CATCH_UP = "SELECT events.item_id, events.hash FROM events WHERE events.id >"  # PostgreSQL, under the lock


@pytest.fixture
def counted(request, tmp_path, db_url):
    """A workspace of the shipped workflows and a list of the statements run since it was cleared."""
    ws = workspace_copy(request, tmp_path, db_url, "shipped", shipped_users)
    statements: list[str] = []

    @event.listens_for(ws.db.engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):
        text = " ".join(statement.split())
        if not text.upper().startswith(TRANSACTION) and "pg_advisory_xact_lock" not in text \
                and not text.startswith(CATCH_UP):
            statements.append(text[:90])

    yield ws, Engine(ws), statements
    ws.close()


def test_every_plan_transition_runs_at_most_eight_statements(counted):
    ws, engine, statements = counted
    key = engine.create("xuming", "plan", values=plan_values(cosign_offices=["计划财务股"])).key
    costs = {}

    def step(name, action):
        statements.clear()
        action()
        costs[name] = list(statements)

    step("submit", lambda: fire(engine, "xuming", key, "submit"))
    step("return", lambda: fire(engine, "zhoujie", key, "return", "请补充。"))
    step("submit again", lambda: fire(engine, "xuming", key, "submit"))
    step("dept_approve", lambda: fire(engine, "zhoujie", key, "dept_approve"))
    step("to_countersign", lambda: fire(engine, "lina", key, "to_countersign"))
    step("countersign + countersigned", lambda: countersign.record(engine, "sunhua", key, "同意", "同意。"))
    step("approve", lambda: fire(engine, "wangqiang", key, "approve"))
    step("revise (no body change)", lambda: fire(engine, "chenjing", key, "revise", "电话更正。",
                                                 drafter_phone="0736-7221036"))
    step("revise + resign", lambda: fire(engine, "chenjing", key, "revise", "抄送用全称。", cc="县人民政府办公室"))
    step("approve again", lambda: fire(engine, "wangqiang", key, "approve"))
    step("register", lambda: fire(engine, "chenjing", key, "register", issue_date="2025-03-10"))
    step("print", lambda: fire(engine, "chenjing", key, "print", copies=30, proofreader="李娜", sealed_by="陈静"))
    step("publish", lambda: fire(engine, "chenjing", key, "publish"))
    step("archive", lambda: fire(engine, "chenjing", key, "archive", archive_no="WS·2025-Y-0001"))
    assert engine.show("zhaomin", key).state == "archived"
    over = {name: found for name, found in costs.items() if len(found) > LIMIT}
    assert not over, "\n".join(f"{name}: {len(found)} statements\n  " + "\n  ".join(found)
                               for name, found in over.items())
    # the count does not grow with the history: the last step has the longest history of all
    assert len(costs["archive"]) <= len(costs["dept_approve"])


def test_each_document_is_rendered_once(counted, monkeypatch):
    """An approval form is rendered once (its token goes in after its fixed content is hashed, not
    by a second rendering), and a document prepared before the write lock is not rendered again."""
    from workflow.documents.renderer import CompiledTemplate

    ws, engine, _ = counted
    rendered: list[str] = []
    render_parts = CompiledTemplate.render_parts

    def counting(self, context):
        rendered.append(self.name)
        return render_parts(self, context)

    monkeypatch.setattr(CompiledTemplate, "render_parts", counting)
    key = engine.create("xuming", "plan", values=plan_values(cosign_offices=None)).key
    for login, transition in [("xuming", "submit"), ("zhoujie", "dept_approve"), ("lina", "forward")]:
        rendered.clear()
        view = fire(engine, login, key, transition)
        assert len(rendered) == len(view.documents), (transition, rendered, view.documents)
    assert rendered == ["plan/发文稿纸.docx"]  # forward's: the 签发 form, with its token, rendered once
