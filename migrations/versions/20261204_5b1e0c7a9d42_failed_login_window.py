"""failed logins are counted within a window: users.first_failed_login_at

Revision ID: 5b1e0c7a9d42
Revises: 096f32cb044c
Create Date: 2026-12-04 15:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '5b1e0c7a9d42'
down_revision = '5e55107a91c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_failed_login_at', app.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('first_failed_login_at')
