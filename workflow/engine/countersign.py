"""会签 in the engine: who countersigns when an item enters a 会签 state (fixed roles and users and
the offices the drafter chose, frozen in the entering event), one signed event per opinion, the
per-countersigner forms, and the outcome transition fired when the quorum is reached or lost."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow.definition import tally
from workflow.definition.countersign import role_of_choice
from workflow.definition.model import AGREE, COUNTERSIGN, DISAGREE, CountersignSpec, Definition, Worklist
from workflow.documents import produce as documents
from workflow.engine import delegation, users, views
from workflow.engine.guards import Actor
from workflow.errors import BadInput, Refused
from workflow.i18n import Msg, Named
from workflow.store.orm import Item, User

if TYPE_CHECKING:
    from workflow.engine.engine import Attach, Engine
    from workflow.store.orm import Event

TITLE = "会签"
WORKLIST = Worklist(id="countersign", title="待会签", states=[])  # built in: items awaiting this user's opinion
DECISIONS = (AGREE, DISAGREE)
_DECISION_WORDS = {AGREE: AGREE, DISAGREE: DISAGREE, "agree": AGREE, "disagree": DISAGREE}


def spec_of(definition: Definition, state: str) -> CountersignSpec | None:
    found = definition.states.get(state)
    return found.countersign if found is not None else None


def parties(session: Session, definition: Definition, spec: CountersignSpec, fields: dict[str, Any]
            ) -> list[dict[str, str]]:
    """The countersigners, in order, each once: the fixed roles, the offices chosen in the field
    (by title), then the named users."""
    found: list[dict[str, str]] = []
    roles = list(spec.roles)
    if spec.from_field:
        for choice in fields.get(spec.from_field) or []:
            role = role_of_choice(definition.roles, str(choice))
            if role is not None:
                roles.append(role)
    for role in dict.fromkeys(roles):
        found.append({"id": role, "kind": "role", "title": definition.role_title(role)})
    for login in dict.fromkeys(spec.users):
        user = session.get(User, login)
        if user is None:
            raise Refused(f"{TITLE}: the countersigner {login!r} named by the definition is not a user here; "
                          f"ask an admin to run `gongwen users add {login}`", reason="unknown_user")
        found.append({"id": login, "kind": "user", "title": user.name})
    return found


def on_entry(session: Session, definition: Definition, state: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What the event entering a 会签 state records: its countersigners and how many must agree.
    Refused (nothing changes) when the quorum cannot be reached by the countersigners chosen."""
    spec = spec_of(definition, state)
    assert spec is not None
    chosen = parties(session, definition, spec, fields)
    need = tally.required(spec, len(chosen))
    if need > len(chosen):
        label = definition.fields[spec.from_field].label if spec.from_field else TITLE
        raise Refused(f"{TITLE} in {definition.state_title(state)} needs {need} to agree, but only "
                      f"{len(chosen)} countersign: choose more in {spec.from_field}（{label}）",
                      reason="quorum_unreachable", state=state, need=need, parties=len(chosen))
    return {"parties": chosen, "need": need, "quorum": spec.quorum, "disagree": spec.disagree}


def signing_as(party: dict[str, str], actor: Actor) -> Actor | None:
    """Who signs for `party`: the actor (the user named, or a holder of the office's role); else,
    under a delegation in force (委托) from that user or a holder of that role, the actor on the
    principal's behalf; else None."""
    if (actor.login == party["id"]) if party["kind"] == "user" else (party["id"] in actor.roles):
        return actor
    for grant in actor.delegations:
        if (grant.principal == party["id"]) if party["kind"] == "user" else (party["id"] in grant.roles):
            return dataclasses.replace(actor, roles=actor.roles + [r for r in grant.roles if r not in actor.roles],
                                       on_behalf_of=grant.principal, delegation=grant.id)
    return None


def may_sign(party: dict[str, str], actor: Actor) -> bool:
    return signing_as(party, actor) is not None


def choose_party(definition: Definition, round_: tally.Round, actor: Actor, wanted: str | None) -> dict[str, str]:
    """The pending countersigner `actor` signs for: `wanted` (a role or login, or its title), else
    the only one they may sign for."""
    mine = [p for p in round_.pending if may_sign(p, actor)]
    if wanted:
        named = [p for p in round_.parties if wanted in (p["id"], p["title"])]
        if not named:
            raise BadInput(f"--for {wanted!r} is not a countersigner here (they are: "
                           f"{'、'.join(p['title'] for p in round_.parties)})", reason="bad_value")
        party = named[0]
        if party["id"] in round_.signed:
            raise Refused(Msg("{party} has already countersigned", party=party["title"]),
                          reason="already_countersigned")
        if party not in mine:
            raise Refused(Msg("{login} may not countersign for {party}", login=actor.login, party=party["title"]),
                          reason="role_missing")
        return party
    if len(mine) == 1:
        return mine[0]
    pending = "、".join(p["title"] for p in round_.pending) or "none"
    if not mine:
        done = [p["title"] for p in round_.parties if p["id"] in round_.signed and may_sign(p, actor)]
        if done:
            raise Refused(Msg("{party} has already countersigned", party="、".join(done)),
                          reason="already_countersigned")
        raise Refused(Msg("{login} is not one of the countersigners yet to sign (pending: {pending})",
                          login=actor.login, pending=pending), reason="role_missing")
    raise BadInput(Msg("{login} may countersign for {parties}: choose one with --for", login=actor.login,
                       parties="、".join(p["title"] for p in mine)), reason="bad_value")


def record(engine: Engine, login: str, key: str, decision: str, opinion: str = "", party: str | None = None,
           expected_version: int | None = None, attach: Attach | None = None,
           entered_by: str | None = None) -> views.ItemView:
    """One countersigner's opinion, as its own signed event; when it decides the step, the outcome
    transition fires in the same transaction."""
    decided = _DECISION_WORDS.get((decision or "").strip().lower() if decision else "")
    if decided is None:
        raise BadInput(Msg("a countersigner answers 同意 or 不同意, not {decision!r}", decision=decision),
                       reason="bad_value")
    from workflow import inputs

    opinion = opinion or ""
    inputs.check_text(opinion, "comment")
    signer = engine._signer(entered_by or login)
    now = engine.now()
    out = documents.Rendered()
    try:
        with engine.db.write() as session:
            # 代录 from a returned 会签单 too; an office's 会签 may be delegated
            item, definition, actor, clerk = engine._open(session, key, login, entered_by, signer, now,
                                                          expected_version)
            events = engine.events_of(session, item)
            round_ = tally.open_round(definition, item.state, events)
            if round_ is None:
                raise Refused(Msg("{key} is in {state}, where no 会签 is open", key=item.key,
                                  state=Named.of(item.state, definition.state_title(item.state))),
                              reason="not_an_exit", transition=COUNTERSIGN, state=item.state)
            chosen = choose_party(definition, round_, actor, party)
            acting = signing_as(chosen, actor)
            assert acting is not None
            actor = acting
            spec = spec_of(definition, item.state)
            assert spec is not None
            _check_distinct(definition, spec, item, events, actor)
            item.updated_at, item.updated_by = now.isoformat(), actor.login
            item.revise()  # an opinion is a revision of the item: forms printed before it are stale
            extra = attach(session, item) if attach else {}
            data = {"countersign": {"party": chosen["id"], "party_title": chosen["title"], "decision": decided},
                    **extra, **delegation.event_data(actor)}
            engine._append_event(session, signer, item, definition, COUNTERSIGN, item.state, actor, opinion,
                                 {}, data, now)
            # the outcome it decides is fired by whoever signed this opinion (the office, for a 代录)
            engine._run_automatic(session, signer, item, definition, clerk, now, out)
            session.flush()
            view = engine._view(session, item, definition, actor, now)
    except StaleDataError:
        with engine.db.read() as session:
            item = engine.get_item(session, key)
            raise engine._conflict(session, item, expected_version or item.version) from None
    return engine._write_files(view, TITLE, out)


def _check_distinct(definition: Definition, spec: CountersignSpec, item: Item, events: list[Event],
                    actor: Actor) -> None:
    for name in spec.distinct_from:
        done = {item.creator} if name == "create" else {
            who for e in events if e.transition == name for who in (e.actor, delegation.principal_of(e.data)) if who}
        for who in filter(None, (actor.login, actor.on_behalf_of)):  # a delegate and their principal
            if who in done:
                what = Msg("created the item") if name == "create" else Msg("did {earlier}", earlier=Named(
                    name, Named.of(name, definition.transitions[name].title if name in definition.transitions
                                   else None).zh))
                raise Refused(Msg("会签: {who} {what} and may not also countersign (separation of duties)", who=who,
                                  what=what), reason="separation_of_duties", transition=COUNTERSIGN)


def outcome_transition(definition: Definition, item: Item, events: list[Event]) -> tuple[str, str] | None:
    """(transition id, comment) to fire when the open round is decided, else None."""
    round_ = tally.open_round(definition, item.state, events)
    spec = spec_of(definition, item.state)
    if round_ is None or spec is None or round_.outcome is None:
        return None
    if not round_.parties:
        return spec.agreed, f"无需{TITLE}（未选{TITLE}单位）"
    quorum = tally.quorum_text(spec, round_.need, len(round_.parties))
    summary = f"{TITLE}：{round_.agreed}个同意，{round_.disagreed}个不同意（{quorum}）"
    if round_.outcome == "vetoed":
        against = "；".join(f"{o['party_title']}不同意" + (f"：{o['comment']}" if o["comment"] else "")
                           for o in round_.opinions if o["decision"] == DISAGREE)
        return spec.vetoed, summary + (f"。{against}" if against else "")
    return spec.agreed, summary


def status(session: Session, definition: Definition, item: Item, events: list[Event]) -> dict[str, Any] | None:
    """`show`'s 会签 block: every countersigner with their opinion, signer and date, or pending."""
    round_ = tally.open_round(definition, item.state, events)
    if round_ is None:
        return None
    spec = spec_of(definition, item.state)
    assert spec is not None
    by_party = {o["party"]: o for o in round_.opinions}
    rows = []
    for p in round_.parties:
        o = by_party.get(p["id"])
        rows.append({"party": p["id"], "party_title": p["title"], "decision": o["decision"] if o else None,
                     "opinion": o["comment"] if o else None, "signer": o["actor"] if o else None,
                     "signer_name": _name(session, o["actor"]) if o else None,
                     "date": o["time"][:10] if o else None})
    return {"state": round_.state, "need": round_.need, "quorum": tally.quorum_text(spec, round_.need, len(rows)),
            "disagree": round_.disagree, "agreed": round_.agreed, "disagreed": round_.disagreed,
            "pending": [p["title"] for p in round_.pending], "parties": rows}


def _name(session: Session, login: str) -> str:
    user = users.get_loaded(session, login)
    return user.name if user is not None else login


def waiting_for(definition: Definition, item: Item, events: list[Event], actor: Actor) -> bool:
    """Whether the item waits for this user's opinion."""
    round_ = tally.open_round(definition, item.state, events)
    return round_ is not None and any(may_sign(p, actor) for p in round_.pending)


def render_forms(session: Session, engine: Engine, definition: Definition, item: Item, seq: int,
                 context: dict[str, Any], entry: dict[str, Any], rendered: dict[str, bytes]) -> list[dict[str, Any]]:
    """One 会签单 per countersigner, each with its own token (the form id names the party)."""
    from workflow.documents.formtoken import form_id, render_form
    from workflow.documents.renderer import MAX_TEMPLATE_BYTES, compile_template
    from workflow.inputs import read_regular_file
    from workflow.store.blobs import store_blob, store_context

    spec = spec_of(definition, item.state)
    if spec is None or not spec.form:
        return []
    ws = engine.ws
    path = documents.template_path(ws, definition.id, spec.form)
    template_bytes = read_regular_file(path, MAX_TEMPLATE_BYTES, label=f"{definition.id}/{spec.form}")
    compiled = compile_template(template_bytes, f"{definition.id}/{spec.form}")
    produced = []
    for party in entry["parties"]:
        party_context = {**context, "countersigner": party}
        data, form_context = render_form(compiled, party_context, ws.form_secret_in(session), item.key,
                                         item.version, seq, spec.form_spec(), party["id"])
        rendered[hashlib.sha256(data).hexdigest()] = data
        file = documents.document_filename(item.key, seq, f"{TITLE}{party['title']}", spec.form)
        documents.document_path(ws, item.key, file)
        produced.append({"name": f"{TITLE}单（{party['title']}）", "file": file,
                         "sha256": store_blob(session, data, "docx"), "size": len(data), "template": spec.form,
                         "template_sha256": store_blob(session, template_bytes, "template"),
                         "context_sha256": store_context(session, form_context),
                         "form_id": form_id(item.key, seq, party["id"])})
    return produced

