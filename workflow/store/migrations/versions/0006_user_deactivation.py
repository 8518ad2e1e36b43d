"""users.deactivated_event: a deactivated user keeps their history and acts no more

Revision ID: 0006
Revises: 0005

`gongwen users deactivate` records a user_deactivate event on the @users stream; the column is
its projection (the event's id; NULL while the user is active, and again once reactivated).
verify compares it with the fold of the events. Users recorded before it are active (NULL).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('deactivated_event', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('deactivated_event')
