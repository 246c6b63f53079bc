"""state periods replace cycle-state checkpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

History as periods (store/periods.py): each user's state and the stretch it was held.
Existing history is folded into periods here, in SQL of its own (not the application's,
which may change after this migration), the same fold `store.periods.rebuild` does.
The checkpoints are dropped: a cycle now reads the periods overlapping it. `ix_audit_at`
also holds `action` and `outcome`, so a cycle summary counts its changes from the index.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# the last state of each instant; kept where it differs from the instant before; held
# until the next kept one (or forever)
BACKFILL = """
INSERT INTO state_periods (user_id, start, stop, status, level, effective)
SELECT uid, at, COALESCE(LEAD(at) OVER (PARTITION BY uid ORDER BY at), :forever),
       status, level, effective
FROM (
    SELECT uid, at, status, level, effective,
           LAG(status) OVER w AS p_status, LAG(level) OVER w AS p_level,
           LAG(effective) OVER w AS p_effective
    FROM (
        SELECT subject_user_id AS uid, at, status_after AS status, level_after AS level,
               effective_after AS effective,
               ROW_NUMBER() OVER (PARTITION BY subject_user_id, at ORDER BY id DESC) AS rn
        FROM audit_events WHERE status_after IS NOT NULL
    ) AS ranked
    WHERE rn = 1
    WINDOW w AS (PARTITION BY uid ORDER BY at)
) AS compared
WHERE p_status IS NULL OR p_status != status OR p_level != level
      OR p_effective != effective
"""


def upgrade():
    op.create_table('state_periods',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stop', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('effective', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'pending', 'deactivated', 'deleted')", name=op.f('ck_state_periods_status')),
    sa.CheckConstraint('start < stop', name=op.f('ck_state_periods_not_empty')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_state_periods_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'start', name=op.f('pk_state_periods')),
    sqlite_with_rowid=False,
    )
    forever = sa.bindparam('forever', type_=UTCDateTime())
    op.get_bind().execute(sa.text(BACKFILL).bindparams(forever),
                          {'forever': datetime(9999, 12, 31, tzinfo=UTC)})
    op.create_index('ix_state_periods_active', 'state_periods', ['stop', 'start', 'user_id', 'level', 'effective', 'status'], unique=False, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.drop_table('cycle_states')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_at')
        batch_op.create_index('ix_audit_at', ['at', 'action', 'outcome'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_at')
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
    op.create_table('cycle_states',
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('effective', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cycle_states_user_id_users')),
    sa.PrimaryKeyConstraint('at', 'user_id', name=op.f('pk_cycle_states')),
    sqlite_with_rowid=False,
    )
    op.drop_index('ix_state_periods_active', table_name='state_periods', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.drop_table('state_periods')
