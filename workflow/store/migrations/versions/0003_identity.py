"""identity: signed events, users' keys, the form secret in the database, database logins

Revision ID: 0003
Revises: 0002

Events gain the signature of their actor and the fingerprint of the key that made it; an
event that changes users, roles or keys belongs to no item (item_id NULL). user_keys is the
projection of the key events; settings holds the HMAC secret of approval forms (it left the
workspace folder); db_logins maps PostgreSQL logins to gongwen users.

A log that already holds events gets one more, unsigned, on the @users stream: the upgrade
itself, with the users and roles of that moment (the baseline the user events continue). Every
event after it must be signed; the events before it are the older release's, and `audit
verify` says how many carry no signature. The users hold no keys yet: an admin of the baseline
registers their own key first (`gongwen users key ADMIN LINE`, signed by that key), then the
others'. Moving the marker would break the chain,
and recomputing the chain would break every signature after it.
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table(
        'settings',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name'))
    op.bulk_insert(settings, [{"name": "form_secret", "value": secrets.token_hex(32)}])
    op.create_table(
        'user_keys',
        sa.Column('fingerprint', sa.String(length=100), nullable=False),
        sa.Column('login', sa.String(length=100), nullable=False),
        sa.Column('algorithm', sa.String(length=32), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('added_event', sa.Integer(), nullable=True),
        sa.Column('revoked_event', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['login'], ['users.login']),
        sa.PrimaryKeyConstraint('fingerprint'))
    op.create_index('ix_user_keys_login', 'user_keys', ['login'], unique=False)
    op.create_table(
        'db_logins',
        sa.Column('db_login', sa.String(length=100), nullable=False),
        sa.Column('login', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['login'], ['users.login']),
        sa.PrimaryKeyConstraint('db_login'))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signer', sa.String(length=100), nullable=True))
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=True)
    _mark_signing_begins()


def _mark_signing_begins() -> None:
    from workflow.canonical import canonical_json
    from workflow.store import chain

    connection = op.get_bind()
    last = connection.execute(sa.text("SELECT hash FROM events ORDER BY id DESC LIMIT 1")).scalar()
    if last is None:
        return  # a new log: every event is signed from the first
    roles: dict[str, list[str]] = {}
    for login, role in connection.execute(sa.text("SELECT login, role FROM user_roles ORDER BY login, role")):
        roles.setdefault(login, []).append(role)
    baseline = [{"login": login, "name": name, "title": title, "roles": roles.get(login, [])}
                for login, name, title in connection.execute(
                    sa.text("SELECT login, name, title FROM users ORDER BY login"))]
    payload = {"item": "@users", "seq": 1, "transition": "schema_upgrade", "from": None, "to": "0003",
               "actor": "gongwen", "roles": [], "comment": "", "changes": {},
               "data": {"revision": "0003", "signed_from_here": True, "users": baseline},
               "time": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(), "definition": ""}
    digest = chain.link(last, canonical_json(payload))
    connection.execute(
        sa.text("INSERT INTO events (item_id, item_key, seq, transition, from_state, to_state, actor, actor_roles, "
                "comment, changes, data, time, definition_hash, prev_hash, hash) VALUES (NULL, :item, :seq, "
                ":transition, NULL, :to, :actor, :roles, '', :changes, :data, :time, '', :prev, :hash)"),
        {"item": payload["item"], "seq": 1, "transition": payload["transition"], "to": payload["to"],
         "actor": payload["actor"], "roles": "[]", "changes": "{}",
         "data": canonical_json(payload["data"]).decode(), "time": payload["time"], "prev": last, "hash": digest})


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('signer')
        batch_op.drop_column('signature')
    op.drop_table('db_logins')
    op.drop_index('ix_user_keys_login', table_name='user_keys')
    op.drop_table('user_keys')
    op.drop_table('settings')
