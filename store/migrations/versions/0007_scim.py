"""scim: users' external ids and the directory's tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15

SCIM 2.0 provisioning (DESIGN section 10): `users.external_id` keeps the identity
provider's own id for a user (indexed: directories look users up by it), and
`scim_tokens` holds the bearer tokens, by the SHA-256 of each, never the token itself.
The audit already has `ix_audit_subject_at` (subject_user_id first), which the users'
`meta.version` look-up uses.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('external_id', sa.String(length=255), nullable=True))
    op.create_index('ix_users_external_id', 'users', ['external_id'], unique=False)
    op.create_table('scim_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_scim_tokens_created_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_scim_tokens_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_tokens_token_hash'))
    )


def downgrade():
    op.drop_table('scim_tokens')
    # a plain DROP COLUMN (SQLite 3.35 and later): batch mode would copy `users` and drop
    # the original, which the audit's foreign keys refuse once there is any history
    op.drop_index('ix_users_external_id', table_name='users')
    op.drop_column('users', 'external_id')
