"""users.unit: the unit (a school, the city bureau) a user acts for

Revision ID: 0005
Revises: 0004

A role a definition declares with `unit_field` (a school's own users) lets its holders act only
on items whose field names their unit. The column is the projection of the `unit` of the
user_add event (verify compares it); users recorded before it have none ("").
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('unit', sa.String(length=200), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('unit')
