"""seen signatures: refuse a replayed webhook request

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

The login webhook records each signature it accepts; the primary key refuses the same
signature a second time, from any web process (bot/services/replay.py).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('seen_signatures',
    sa.Column('signature', sa.String(length=80), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_seen_signatures'))
    )
    op.create_index('ix_seen_signatures_signed_at', 'seen_signatures', ['signed_at'], unique=False)


def downgrade():
    op.drop_index('ix_seen_signatures_signed_at', table_name='seen_signatures')
    op.drop_table('seen_signatures')
