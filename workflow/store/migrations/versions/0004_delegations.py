"""delegations (委托): a user's roles handed to another user for a period

Revision ID: 0004
Revises: 0003

The table is the projection of the `delegate` and `delegation_end` events of the @users stream
(like user_roles and user_keys); an older log has no such events, so the table starts empty.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('principal', sa.String(length=100), nullable=False),
        sa.Column('delegate', sa.String(length=100), nullable=False),
        sa.Column('roles', sa.Text(), nullable=False),
        sa.Column('starts', sa.String(length=40), nullable=False),
        sa.Column('ends', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('given_event', sa.Integer(), nullable=True),
        sa.Column('ended_event', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['delegate'], ['users.login']),
        sa.ForeignKeyConstraint(['principal'], ['users.login']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_delegations_principal', 'delegations', ['principal'], unique=False)
    op.create_index('ix_delegations_delegate', 'delegations', ['delegate'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_delegations_delegate', table_name='delegations')
    op.drop_index('ix_delegations_principal', table_name='delegations')
    op.drop_table('delegations')
