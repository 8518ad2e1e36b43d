"""Database tables (SQLAlchemy 2.0 typed ORM)."""

import json
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from workflow.canonical import canonical_text


class CanonicalJSON(TypeDecorator):
    """JSON kept as canonical text (sorted keys, compact, UTF-8): the exact bytes the hash
    chain covers, the same on SQLite and PostgreSQL (jsonb would reorder keys)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass


class DefinitionVersion(Base):
    """A workflow definition, stored by the sha256 of its canonical form."""

    __tablename__ = "definition_versions"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(500))
    stored_at: Mapped[str] = mapped_column(String(40))


class User(Base):
    __tablename__ = "users"
    login: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(100), default="")
    # 单位: with a role a definition scopes to a unit (unit_field), the user acts for it only
    unit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[str] = mapped_column(String(40))
    # the user_deactivate event that took their right to act (NULL: active); history keeps them
    deactivated_event: Mapped[int | None] = mapped_column(Integer, nullable=True)
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.role")

    @property
    def role_names(self) -> list[str]:
        return [r.role for r in self.roles]


class UserRole(Base):
    __tablename__ = "user_roles"
    login: Mapped[str] = mapped_column(ForeignKey("users.login"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped["User"] = relationship(back_populates="roles")


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(64), index=True)
    definition_hash: Mapped[str] = mapped_column(ForeignKey("definition_versions.hash"))
    state: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(500))
    fields: Mapped[dict] = mapped_column(JSON)
    numbers: Mapped[dict] = mapped_column(JSON)
    creator: Mapped[str] = mapped_column(ForeignKey("users.login"))
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # worklists count their items per (definition, state, created by the user or not) from this
    # index alone, and read a state's first items in id order along it (engine/reads.py)
    __table_args__ = (Index("ix_items_worklist", "definition_hash", "state", "creator"),)
    # the revision is bumped by the code that changes the item (`revise`), not at flush: a unit of
    # work may change an item several times (automatic transitions) and flush once, at commit; the
    # UPDATE still checks the revision the item was read at (optimistic lock)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def revise(self) -> None:
        """The item's next revision: what a form printed now is signed for, and its event records."""
        self.version = (self.version or 0) + 1


class Event(Base):
    """Append-only history: one row per creation and per transition, hash-chained."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))  # None: a user, role or key event
    item_key: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    transition: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    actor_roles: Mapped[list] = mapped_column(CanonicalJSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(CanonicalJSON)
    data: Mapped[dict] = mapped_column(CanonicalJSON)
    time: Mapped[str] = mapped_column(String(40))
    definition_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str | None] = mapped_column(Text)  # the actor's signature over the hash (base64)
    signer: Mapped[str | None] = mapped_column(String(100))  # the fingerprint of the key that signed
    __table_args__ = (UniqueConstraint("item_id", "seq"), Index("ix_events_item", "item_id", "seq"),
                      Index("ix_events_item_key", "item_key"))


class Counter(Base):
    """Gap-free sequences: one row per (sequence name, scope, year)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class AssignedNumber(Base):
    """Every number handed out, UNIQUE as a backstop against duplicates."""

    __tablename__ = "assigned_numbers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    __table_args__ = (UniqueConstraint("name", "scope", "year", "seq"),)


class Blob(Base):
    """Content-addressed bytes: rendered documents, the templates and contexts they came from,
    returned forms kept as evidence. Written in the same transaction as the event naming them."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class FormReceipt(Base):
    """A returned approval form that was applied: at most once (the primary key)."""

    __tablename__ = "form_receipts"
    form_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    file_sha256: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[str] = mapped_column(String(40))
    applied_by: Mapped[str] = mapped_column(String(100))


class Checkpoint(Base):
    """A Merkle root over the first `size` events, as handed to an auditor."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[str] = mapped_column(String(40))
    made_by: Mapped[str] = mapped_column(String(100))


class UserKey(Base):
    """A user's registered public key: the projection of the key events (added, revoked)."""

    __tablename__ = "user_keys"
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    login: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(Text)  # the key line, e.g. ssh-ed25519 AAAA... comment
    added_event: Mapped[int | None] = mapped_column(Integer)
    revoked_event: Mapped[int | None] = mapped_column(Integer)


class Setting(Base):
    """Workspace secrets and settings kept in the database (the approval forms' HMAC secret)."""

    __tablename__ = "settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DbLogin(Base):
    """A PostgreSQL login and the gongwen user it may act as (`gongwen db grant`)."""

    __tablename__ = "db_logins"
    db_login: Mapped[str] = mapped_column(String(100), primary_key=True)
    login: Mapped[str] = mapped_column(ForeignKey("users.login"))


class Delegation(Base):
    """A delegation (委托): the projection of the `delegate` and `delegation_end` events of the
    @users stream. The principal's roles (a list) are the delegate's too, from `starts` to `ends`
    (ISO dates, both included, on the workspace's clock), until an event ends it early."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    delegate: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    roles: Mapped[list] = mapped_column(CanonicalJSON)
    starts: Mapped[str] = mapped_column(String(40))
    ends: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    given_event: Mapped[int | None] = mapped_column(Integer)
    ended_event: Mapped[int | None] = mapped_column(Integer)
