"""keyed history chain and audit checkpoints

Revision ID: a5d17c0e4b21
Revises: 096f32cb044c
Create Date: 2026-12-04 15:00:00

Existing events keep their SHA-256 hashes (hash_scheme "sha256"): a migration has no AUDIT_SECRET, so
`flask audit rekey` upgrades them to the keyed scheme once the secret is set.
"""

from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = "a5d17c0e4b21"
down_revision = '5b1e0c7a9d42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("heads_digest", sa.String(length=64), nullable=False),
        sa.Column("heads", sa.LargeBinary(), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("prev_mac", name=op.f("uq_audit_checkpoints_prev_mac")),
    )
    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_scheme", sa.String(length=10), server_default="sha256", nullable=False))


def downgrade():
    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.drop_column("hash_scheme")
    op.drop_table("audit_checkpoints")
