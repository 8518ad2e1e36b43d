"""index items by (definition_hash, state, creator) for worklists

Revision ID: 0007
Revises: 0006

A worklist counts its items per definition version, state and whether the user created them
from this index alone (no row read), and reads a state's first items in id order along it.
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_items_worklist', 'items', ['definition_hash', 'state', 'creator'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_items_worklist', table_name='items')
