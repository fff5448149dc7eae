"""merge the level requirements and request history branches

Revision ID: 0003
Revises: 0002_requirements, 0002_audit
Create Date: 2026-11-28
"""

revision = "0003"
down_revision = ("0002_requirements", "0002_audit")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
