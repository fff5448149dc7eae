"""merge the catalog details and pathway versions branches

Revision ID: 0005
Revises: 0004_gap, 0004_versions
Create Date: 2026-11-28
"""

revision = "0005"
down_revision = ("0004_gap", "0004_versions")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
