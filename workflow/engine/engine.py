"""The unit-of-work operations: create an item, fire a transition (typed refusals, optimistic
lock, numbers, events), and the read side (items, history, worklists). Every result is one of
the frozen views of views.py, built before the transaction ends."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow import inputs
from workflow.definition.model import CREATE, SYSTEM_USER, Definition, Transition, Worklist
from workflow.documents import produce as documents
from workflow.engine import (
    countersign,
    creating,
    delegation,
    edits,
    guards,
    machine,
    numbers,
    prepare,
    reads,
    registry,
    timers,
    users,
    views,
    visibility,
)
from workflow.engine.guards import Actor
from workflow.errors import BadInput, Conflict, Refused
from workflow.i18n import Msg, Named
from workflow.identity.keyring import KeyRing
from workflow.identity.keys import Signer
from workflow.store import chain
from workflow.store.blobs import load_blob
from workflow.store.db import SnapshotMoved
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from workflow.store.workspace import Workspace

AUTOMATIC_CHAIN_LIMIT = 10
AUTOMATIC_COMMENT = "（系统自动办理）"  # the comment of an automatic transition's event (documents print it)

Sets = Sequence[tuple[str, Any]]  # --set pairs: (path, value)
Attach = Callable[[Session, Item], dict[str, Any]]  # more event data, inside the transaction


class Engine:
    """`keys`: the private keys of this account (default: the user's key folder, and a demo
    workspace's own keys); every event a call writes is signed by the acting user's key."""

    def __init__(self, workspace: Workspace, keys: KeyRing | None = None) -> None:
        self.ws = workspace
        self.db = workspace.db
        self.keys = keys or KeyRing(workspace.root)

    def _signer(self, login: str) -> Signer:
        """The key that signs for `login`; a user unknown to the workspace is named as such."""
        try:
            return self.keys.signer(login)
        except Refused:
            with self.db.read() as session:
                users.actor(session, login)  # raises unknown_user first
            raise

    # -- time -------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.ws.now()

    # -- loading ----------------------------------------------------------------------------
    get_item = staticmethod(prepare.get_item)
    events_of = staticmethod(prepare.events_of)
    item_for_write = staticmethod(prepare.item_for_write)

    def subject(self, session: Session, item: Item, fields: dict[str, Any] | None = None) -> guards.Subject:
        past: dict[str, set[str]] = {CREATE: {item.creator}}
        events = self.events_of(session, item)
        for event in events:
            if event.transition != CREATE:
                past.setdefault(event.transition, set()).add(event.actor)
                if principal := delegation.principal_of(event.data):  # done on their behalf: theirs too
                    past[event.transition].add(principal)
        fields = item.fields if fields is None else fields
        return guards.Subject(key=item.key, state=item.state, title=item.title, creator=item.creator,
                              fields=fields, numbers=item.numbers, past_actors=past,
                              calendar=timers.LazyCalendar(self.ws),
                              body_changed=edits.body_changed(registry.pinned(session, item.definition_hash),
                                                                events, fields))

    # -- writing ----------------------------------------------------------------------------
    def create(self, login: str, workflow_id: str, title: str | None = None,
               values: dict[str, Any] | None = None, sets: Sets = (), comment: str = "") -> views.ItemView:
        return self.create_many(login, workflow_id, [(title, values or {}, sets, comment)])[0]

    def create_many(self, login: str, workflow_id: str,
                    rows: Sequence[tuple[str | None, dict[str, Any], Sets, str]]) -> list[views.ItemView]:
        """Create items (title, values, sets, comment each) in ONE transaction: all or none
        (gongwen import); their files are written after the commit."""
        definition = registry.current(self.ws, workflow_id)
        _not_system(login)
        for title, *_rest in rows:
            if title:
                inputs.check_text(title, "title", multiline=False)
        now = self.now()
        signer = self._signer(login)  # before the lock: a missing key or passphrase changes nothing
        documents.check_writable(self.ws)  # nor a documents/ folder that takes no files
        made: list[tuple[views.ItemView, documents.Rendered]] = []
        with self.db.write() as session:
            actor = users.authenticate(session, login, signer)
            if definition.creators and not set(actor.roles) & set(definition.creators):
                wanted = "、".join(f"{r}（{definition.role_title(r)}）" for r in definition.creators)
                raise Refused(Msg("{login} may not create a {workflow}: needs one of {wanted}", login=actor.login,
                                  workflow=Named.of(definition.id, definition.title), wanted=wanted),
                              reason="role_missing", transition=CREATE)
            registry.store(session, definition, now.isoformat())
            for title, values, sets, comment in rows:
                out = documents.Rendered()
                made.append((creating.create_one(self, session, signer, definition, actor, now, out, title,
                                                 values, sets, comment), out))
        result = []
        for view, out in made:
            written, warning = documents.write_files_after_commit(self.ws, view.key, f"{view.key} (created)",
                                                                  out.documents, out.blobs)
            result.append(dataclasses.replace(view, warning=warning) if warning else view)
        return result

    def fire(self, login: str, key: str, transition_id: str, comment: str = "",
             sets: Sets = (), expected_version: int | None = None, attach: Attach | None = None,
             entered_by: str | None = None) -> views.ItemView:
        """Fire a transition as `login`. `attach(session, item)` may add to the event's data inside
        the same transaction (ingest: the returned form as evidence). With `entered_by`, that user
        enters the decision on the actor's behalf and signs the event with their own key."""
        comment = comment or ""
        _not_system(login, entered_by)
        if entered_by and attach is None:  # 代录 is recorded with the returned form it was entered from
            raise BadInput("a decision entered on someone's behalf needs the returned form (gongwen ingest)")
        signer = self._signer(entered_by or login)  # before the lock: a missing key changes nothing
        now = self.now()
        try:  # read, decide and render first; take the write lock only to write (Database.write optimistic)
            return self._fire(login, key, transition_id, comment, sets, expected_version, attach, entered_by,
                              signer, now, optimistic=True)
        except SnapshotMoved:
            pass  # another writer changed what this one read: again, under the lock (so every fire ends)
        # loaded, and the documents rendered, before the write lock (engine/prepare.py)
        ready = prepare.prepare(self.ws, key, login, transition_id, comment, sets, now) \
            if attach is None and entered_by is None and prepare.worth_preparing(key, transition_id) else None
        return self._fire(login, key, transition_id, comment, sets, expected_version, attach, entered_by, signer,
                          now, ready=ready)

    def _fire(self, login: str, key: str, transition_id: str, comment: str, sets: Sets,
              expected_version: int | None, attach: Attach | None, entered_by: str | None, signer: Signer,
              now: dt.datetime, optimistic: bool = False, ready: prepare.Prepared | None = None) -> views.ItemView:
        out = documents.Rendered()  # what the transaction renders; files are written after commit
        try:
            with self.db.write(optimistic) as session:
                item, definition, actor, clerk = self._open(session, key, login, entered_by, signer, now,
                                                            expected_version, ready)
                tr = definition.transitions.get(transition_id)
                if tr is None or tr.automatic or tr.outcome_of or tr.timer:
                    exits = Named.listing(Named.of(t.id, t.title) for t in definition.exits(item.state)
                                          if not t.automatic)
                    raise Refused(Msg("{workflow} has no transition {transition!r} to fire by hand; exits of {state}: "
                                      "{exits}", workflow=definition.id, transition=transition_id, exits=exits,
                                      state=Named.of(item.state, definition.state_title(item.state))),
                                  reason="not_an_exit", transition=transition_id)
                self._transition(session, signer, item, definition, tr, actor, comment, sets, now, out, attach)
                # what follows (automatic transitions, a 会签's outcome) is done by whoever signed
                self._run_automatic(session, signer, item, definition, clerk, now, out)
                if out.documents:  # a folder that takes no files: nothing changes
                    documents.check_writable(self.ws, item.key)
                view = self._view(session, item, definition, actor, now)  # written at the commit
        except StaleDataError:
            with self.db.read() as session:
                item = self.get_item(session, key)
                raise self._conflict(session, item, expected_version or item.version) from None
        return self._write_files(view, transition_id, out)

    def _open(self, session: Session, key: str, login: str, entered_by: str | None, signer: Signer,
              now: dt.datetime, expected_version: int | None, ready: prepare.Prepared | None = None
              ) -> tuple[Item, Definition, Actor, Actor]:
        """Under the write lock: the item (refused as stale unless at `expected_version`, when given),
        its definition, who acts and who signs (with the delegations to the actor in force), its
        events and the users they name loaded once, or taken from what `ready` loaded before."""
        item, delegated = self.item_for_write(session, key, login, now.date())
        if ready is not None:
            ready.reuse(session, item)
        if expected_version is not None and item.version != expected_version:
            raise self._conflict(session, item, expected_version)
        definition = registry.pinned(session, item.definition_hash)
        self.events_of(session, item, login, entered_by)  # and the users they name, the actor too
        actor, clerk = self._acting(session, login, entered_by, signer)
        if delegated:
            actor = delegation.with_grants(session, actor, now)  # the delegations to them in force
        return item, definition, actor, clerk

    @staticmethod
    def _acting(session: Session, login: str, entered_by: str | None, signer: Signer) -> tuple[Actor, Actor]:
        """(who acts, who signs): the actor proven by the key, or, for a decision entered from a
        returned form (代录), the actor named and the office user proven by the key, who also does
        what follows (automatic transitions, a 会签's outcome)."""
        if entered_by:
            named = users.actor(session, login)
            users.require_active(users.get_loaded(session, login), login)  # a deactivated user decides nothing
            return named, users.authenticate(session, entered_by, signer)
        actor = users.authenticate(session, login, signer)
        return actor, actor

    def _write_files(self, view: views.ItemView, what: str, out: documents.Rendered) -> views.ItemView:
        """Committed: now the files (a failure here loses nothing, `gongwen docs --export` rewrites
        them); the view names the files written, or carries the warning."""
        written, warning = documents.write_files_after_commit(
            self.ws, view.key, f"{view.key} {what} (now {view.state})", out.documents, out.blobs)
        return dataclasses.replace(view, documents=tuple(str(p) for p in written), warning=warning)

    def _transition(self, session: Session, signer: Signer, item: Item, definition: Definition, tr: Transition,
                    actor: Actor,
                    comment: str, sets: Sets, now: dt.datetime, out: documents.Rendered,
                    attach: Attach | None = None) -> None:
        fields = dict(item.fields)
        if sets and item.state in tr.sources:
            fields = edits.apply(definition, item, tr, sets)
        subject = self.subject(session, item, fields)
        actor = delegation.acting(tr, actor, item.creator)  # a delegate acts on the principal's behalf
        guards.check(definition, tr, subject, actor, comment, now)  # the unit of the item as it will be, too
        edits.check_unit(definition, tr.id, actor, item.fields)  # and as it was
        issuer = self.ws.issuer(tr.issuer)
        assigned = {}
        for number_id in tr.assign:
            assigned[number_id] = numbers.assign(session, definition.numbers[number_id], definition.id,
                                                 issuer["code"], now.year, item.id)
        from_state = item.state
        machine.fire(definition, item, tr.id)
        changes = {k: [item.fields.get(k), v] for k, v in fields.items() if item.fields.get(k) != v}
        item.fields = fields
        item.title = edits.title_after(definition, item.title, fields, set(changes))
        if assigned:
            item.numbers = {**item.numbers, **assigned}
        item.updated_at, item.updated_by = now.isoformat(), actor.login
        item.revise()  # the item's new revision is what a form is signed for
        earlier = self.events_of(session, item)
        seq = len(earlier) + 1
        extra = attach(session, item) if attach else {}  # the returned form: its date goes on the filed 稿纸
        opens = item.state != from_state and countersign.spec_of(definition, item.state) is not None
        context = documents.render_context(session, self.ws, definition, item, tr, actor, comment, now,
                                           from_state, earlier, returned=extra.get("form")) \
            if tr.templates or opens else {}  # nothing to render: no context to build
        produced = documents.render_transition(session, self.ws, definition, item, tr, seq, context,
                                               out.blobs, revision=item.version)
        if opens:  # 会签 opens: who signs
            extra = {**extra, "countersign": countersign.on_entry(session, definition, item.state, fields)}
            produced += countersign.render_forms(session, self, definition, item, seq, context,
                                                 extra["countersign"], out.blobs)
        out.documents.extend(produced)
        data = {"numbers": assigned, "documents": produced, **extra, **delegation.event_data(actor)}
        if definition.signing and tr.id == definition.signing.transition:  # 签发: the text signed
            data["body_sha256"] = edits.body_hash(definition, fields)
        self._append_event(session, signer, item, definition, tr.id, from_state, actor, comment, changes, data, now)

    def _run_automatic(self, session: Session, signer: Signer, item: Item, definition: Definition, actor: Actor,
                       now: dt.datetime, out: documents.Rendered) -> None:
        for _ in range(AUTOMATIC_CHAIN_LIMIT):
            if countersign.spec_of(definition, item.state):  # a decided 会签 fires its outcome
                decided = countersign.outcome_transition(definition, item, self.events_of(session, item))
                if decided:
                    self._transition(session, signer, item, definition, definition.transitions[decided[0]],
                                     actor, decided[1], (), now, out)
                    continue
            for tr in definition.exits(item.state):
                if not tr.automatic:
                    continue
                try:
                    guards.check(definition, tr, self.subject(session, item),
                                 delegation.acting(tr, actor, item.creator), "", now)
                except Refused:
                    continue
                self._transition(session, signer, item, definition, tr, actor, AUTOMATIC_COMMENT, (), now, out)
                break
            else:
                return
        raise BadInput(f"{definition.path}: automatic transitions fired {AUTOMATIC_CHAIN_LIMIT} times "
                       f"in a row from {item.state}: a cycle in the definition")

    def _append_event(self, session: Session, signer: Signer, item: Item, definition: Definition,
                      transition_id: str, from_state: str | None, actor: Actor, comment: str,
                      changes: dict[str, Any], data: dict[str, Any], now: dt.datetime) -> Event:
        """The item's next event, signed. Its data records the item's revision and title after
        it, so that verify can fold the events into the item row and compare every column (the
        callers have flushed the item, so its version counter is current)."""
        events = self.events_of(session, item)
        data = {**data, "version": item.version, "title": item.title,
                **timers.stamp(self.ws, session, item, definition, transition_id, from_state, changes, now, events)}
        event = Event(item_id=item.id, item_key=item.key, seq=len(events) + 1, transition=transition_id,
                      from_state=from_state,
                      to_state=item.state, actor=actor.login, actor_roles=actor.roles_on(item.creator),
                      comment=comment, changes=changes, data=data, time=now.isoformat(),
                      definition_hash=definition.hash)
        return chain.append(session, event, signer)

    def _conflict(self, session: Session, item: Item, expected: int) -> Conflict:
        events = self.events_of(session, item)
        last = events[-1] if events else None
        who, when = (last.actor, last.time) if last else (item.updated_by, item.updated_at)
        said = Msg("{key} was changed by {who} at {when} (version {expected} → {version}); reload it with `gongwen "
                   "show {key}` and decide again", key=item.key, who=who, when=when, expected=expected,
                   version=item.version)
        return Conflict(said, changed_by=who, changed_at=when, version=item.version)

    # -- reading ----------------------------------------------------------------------------
    def show(self, login: str, key: str) -> views.ItemView:
        with self.db.read() as session:
            item = self.get_item(session, key)
            definition = registry.pinned(session, item.definition_hash)
            actor = delegation.with_grants(session, users.actor(session, login), self.now())
            visibility.check(definition, actor, item)
            view = self._view(session, item, definition, actor, self.now())
            keys = users.registered_keys(session)
            history = tuple(views.event_view(e, definition, keys) for e in self.events_of(session, item))
            return dataclasses.replace(view, history=history)

    def history(self, login: str, key: str) -> views.ItemHistory:
        with self.db.read() as session:
            actor = delegation.with_grants(session, users.actor(session, login), self.now())
            item = self.get_item(session, key)
            definition = registry.pinned(session, item.definition_hash)
            visibility.check(definition, actor, item)
            keys = users.registered_keys(session)  # once, not per event
            return views.ItemHistory(key=item.key, workflow=item.workflow_id, title=item.title, state=item.state,
                                     history=tuple(views.event_view(e, definition, keys)
                                                   for e in self.events_of(session, item)))

    def documents(self, login: str, key: str, with_bytes: bool = False) -> views.ItemDocuments:
        """An item's documents, returned forms and attachments, oldest first; with their bytes (from
        the database) on request."""
        with self.db.read() as session:
            actor = delegation.with_grants(session, users.actor(session, login), self.now())
            item = self.get_item(session, key)
            visibility.check(registry.pinned(session, item.definition_hash), actor, item)
            rows = documents.item_documents(session, item)
            blobs = {r["sha256"]: load_blob(session, r["sha256"]) for r in rows} if with_bytes else {}
            return views.ItemDocuments(key=item.key, title=item.title, documents=tuple(rows), blobs=blobs)

    def list_items(self, login: str, workflow: str | None = None, state: str | None = None, mine: bool = False,
                   limit: int | None = None, offset: int = 0, search: reads.Search | None = None) -> reads.ItemPage:
        """A page of items (all without `limit`), with the total (engine/listing.py: Core rows)."""
        return reads.list_page(self.ws, login, workflow, state, mine, limit, offset, search)

    def worklist(self, login: str, limit: int | None = None) -> list[views.Worklist]:
        """The worklists holding something for this user, in the order they are first met (each
        with its first `limit` items and its total, or all of them)."""
        return reads.worklist(self.ws, login, self.now(), limit)

    def _worklists_holding(self, session: Session, item: Item, definition: Definition, actor: Actor,
                           now: dt.datetime) -> list[Worklist]:
        """The definition's worklists this item is on now (whoever they are for)."""
        from workflow.definition import expressions

        found: list[Worklist] = []
        context = None
        for wl in definition.worklists.values():
            if item.state not in wl.states:
                continue
            if wl.when:
                context = context or guards.expression_context(definition, self.subject(session, item), actor, now)
                if not expressions.evaluate(wl.when, context)[0]:
                    continue
            found.append(wl)
        return found

    # -- views ------------------------------------------------------------------------------
    def _view(self, session: Session, item: Item, definition: Definition, actor: Actor,
              now: dt.datetime) -> views.ItemView:
        allowed = guards.allowed(definition, self.subject(session, item), actor, now, delegation.acting)
        holding = self._worklists_holding(session, item, definition, actor, now)
        cosign = None
        if countersign.spec_of(definition, item.state):
            events = self.events_of(session, item)
            cosign = countersign.status(session, definition, item, events)
            if countersign.waiting_for(definition, item, events, actor):
                holding.append(countersign.WORKLIST)
        return views.item_view(item, definition, allowed, holding, cosign)


def _not_system(*logins: str | None) -> None:
    """The system user acts only through `gongwen tick` (timers, 催办, 督办), never by hand."""
    if SYSTEM_USER in logins:
        raise Refused(Msg("{user} (the system user) acts only through `gongwen tick`: timers, 催办 and 督办",
                          user=SYSTEM_USER), reason="role_missing")
