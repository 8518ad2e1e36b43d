"""Issue 15: the issuer of a step (gongwen.yaml issuers:, a transition's issuer:), and replay's
check of 签发 (the signed text's hash), on the shipped workflows."""

from __future__ import annotations

import pytest
import yaml
from helpers import clean_school_values, shipped_users, snapshot, workspace_copy

from workflow.audit import signing
from workflow.canonical import canonical_hash, canonical_text
from workflow.definition.loader import load_file
from workflow.engine.engine import Engine
from workflow.errors import BadInput
from workflow.store.blobs import load_context
from workflow.store.workspace import Workspace, shipped_dir

EVALUATION = [("city_team", "市评估组"), ("city_date", "2025-03-07"), ("city_score", "92"), ("city_opinion", "达标")]


@pytest.fixture
def shipped(request, tmp_path, db_url):
    ws = workspace_copy(request, tmp_path, db_url, "shipped", shipped_users)
    yield ws
    ws.close()


def _in_assessment(engine: Engine) -> str:
    key = engine.create("chengang", "clean_school", values=clean_school_values(school=None)).key
    engine.fire("chengang", key, "submit")
    engine.fire("lina", key, "forward", sets=[("county_opinion", "同意推荐。")])
    engine.fire("wangqiang", key, "recommend")
    return key


def _settings_of(ws: Workspace, engine: Engine, key: str, transition: str) -> list[dict]:
    rows = [d for d in engine.documents("zhaomin", key).documents if d.get("transition") == transition]
    with ws.db.read() as session:
        return [load_context(session, d["context_sha256"])["settings"] for d in rows]


def test_each_step_is_in_its_issuers_name_and_draws_from_its_code(shipped):
    engine = Engine(shipped)
    key = _in_assessment(engine)
    assert engine.show("zhaomin", key).fields["school"] == "某某县城关中学"  # chengang's unit, filled in
    assert engine.show("zhaomin", key).numbers["recommend_number"] == "某教发〔2025〕1号"
    [county] = _settings_of(shipped, engine, key, "recommend")
    assert (county["issuer"], county["issuer_name"], county["issuer_code"]) == ("bureau", "某某县教育局", "某教发")
    assert county["issuers"]["city"] == {"id": "city", "name": "某某市教育局", "code": "某市教发"}
    engine.fire("qianyu", key, "evaluate", sets=EVALUATION)
    [city] = _settings_of(shipped, engine, key, "evaluate")
    assert (city["issuer"], city["issuer_name"], city["issuer_code"]) == ("city", "某某市教育局", "某市教发")


def test_a_step_naming_an_issuer_the_workspace_lacks_is_refused_and_changes_nothing(shipped):
    engine = Engine(shipped)
    key = _in_assessment(engine)
    path = shipped.root / "gongwen.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["issuers"] = {"supervision": config["issuers"]["supervision"]}  # no city
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    ws = Workspace(shipped.root)
    before = snapshot(ws)
    with pytest.raises(BadInput) as refused:
        Engine(ws).fire("qianyu", key, "evaluate", sets=EVALUATION)
    assert refused.value.reason == "unknown_issuer" and "'city'" in refused.value.message
    assert snapshot(ws) == before
    ws.close()


# -- replay's check of 签发 -----------------------------------------------------------------------
PLAN = load_file(shipped_dir("definitions") / "plan.yaml")
BODY = PLAN.signing.body if PLAN.signing else []


def _hash(body: dict) -> str:
    return canonical_hash({name: body.get(name) for name in BODY})


def _replay(events: list[tuple[str, str, dict, dict]]) -> list[str | None]:
    track: dict = {}
    return [signing.step(PLAN, track, tr, to, changes, data) for tr, to, changes, data in events]


SIGNED = {"title": "某某县工作要点", "summary": "总体要求"}
CREATE = ("create", "draft", {k: [None, v] for k, v in SIGNED.items()}, {})
APPROVE = ("approve", "signed", {}, {"body_sha256": _hash(SIGNED)})


def test_replay_accepts_the_engine_s_sequence():
    revised = {"summary": ["总体要求", "总体要求（修改）"]}
    assert _replay([CREATE, APPROVE, ("revise", "signed", revised, {}), ("resign", "approve", {}, {}),
                    ("approve", "signed", {}, {"body_sha256": _hash({**SIGNED, "summary": "总体要求（修改）"})}),
                    ("register", "registered", {}, {"numbers": {"doc_number": "某教发〔2025〕1号"}})]) == [None] * 6


@pytest.mark.parametrize("events, problem", [
    ([CREATE, ("approve", "signed", {}, {"body_sha256": "0" * 64})], "is not the hash of the text it signed"),
    ([CREATE, APPROVE, ("revise", "signed", {"summary": ["总体要求", "改"]}, {}),
      ("register", "registered", {}, {"numbers": {"doc_number": "某教发〔2025〕1号"}})],
     "did not follow at once"),
    ([CREATE, APPROVE, ("resign", "approve", {}, {})], "had not changed"),
    ([CREATE, APPROVE, ("register", "registered", {"summary": ["总体要求", "改"]},
                        {"numbers": {"doc_number": "某教发〔2025〕1号"}})],
     "a number was drawn on a text that differs from the one signed"),
])
def test_replay_names_what_the_engine_never_does(events, problem):
    found = [p for p in _replay(events) if p]
    assert len(found) == 1 and problem in found[0]


@pytest.mark.parametrize("stored", [str, lambda text: text.encode()], ids=["text", "bytes"])
def test_replay_reads_the_recorded_body_hash_from_the_stored_text(stored):
    """As the database gives a 签发's data (canonical text; bytes on SQLite): the hash read in place
    when it is the first key, else from the parsed data; a longer, shorter or other value refused."""
    right = _hash(SIGNED)

    def problems(data: dict | str) -> list[str | None]:
        text = data if isinstance(data, str) else canonical_text(data)
        return [p for p in _replay([CREATE, ("approve", "signed", {}, stored(text))]) if p]

    assert problems({"body_sha256": right, "documents": [], "numbers": {}}) == []
    assert problems({"agent": {"body_sha256": "0" * 64}, "body_sha256": right}) == []  # parsed: not first
    assert problems({"agent": {"body_sha256": right}, "body_sha256": "0" * 64})  # the nested one counts for nothing
    assert problems({"agent": {"body_sha256": right}})  # nor when the key is missing
    assert problems('{"body_sha256":"' + right + '0","documents":[]}')  # 65 characters
    assert problems('{"body_sha256":"' + right[:63] + '","documents":[]}')  # 63
    assert problems({"body_sha256": right.upper()})
