"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
import workflow.store.orm


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('made_at', sa.String(length=40), nullable=False),
    sa.Column('made_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'scope', 'year')
    )
    op.create_table('definition_versions',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('workflow_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('stored_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('hash')
    )
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_versions_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('users',
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('login')
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('workflow_id', sa.String(length=64), nullable=False),
    sa.Column('definition_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('numbers', sa.JSON(), nullable=False),
    sa.Column('creator', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.String(length=40), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['creator'], ['users.login'], ),
    sa.ForeignKeyConstraint(['definition_hash'], ['definition_versions.hash'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['login'], ['users.login'], ),
    sa.PrimaryKeyConstraint('login', 'role')
    )
    op.create_table('assigned_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'scope', 'year', 'seq')
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('transition', sa.String(length=64), nullable=False),
    sa.Column('from_state', sa.String(length=64), nullable=True),
    sa.Column('to_state', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_roles', workflow.store.orm.CanonicalJSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('changes', workflow.store.orm.CanonicalJSON(), nullable=False),
    sa.Column('data', workflow.store.orm.CanonicalJSON(), nullable=False),
    sa.Column('time', sa.String(length=40), nullable=False),
    sa.Column('definition_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash'),
    sa.UniqueConstraint('item_id', 'seq')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_item', ['item_id', 'seq'], unique=False)

    op.create_table('form_receipts',
    sa.Column('form_id', sa.String(length=80), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('applied_at', sa.String(length=40), nullable=False),
    sa.Column('applied_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('form_id')
    )


def downgrade() -> None:
    op.drop_table('form_receipts')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_item')

    op.drop_table('events')
    op.drop_table('assigned_numbers')
    op.drop_table('user_roles')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_workflow_id'))
        batch_op.drop_index(batch_op.f('ix_items_state'))

    op.drop_table('items')
    op.drop_table('users')
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_versions_workflow_id'))

    op.drop_table('definition_versions')
    op.drop_table('counters')
    op.drop_table('checkpoints')
    op.drop_table('blobs')
