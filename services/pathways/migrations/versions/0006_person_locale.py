"""person locale and time zone: how notifications address each person, and when

Revision ID: 0006_locale
Revises: 0005
Create Date: 2026-11-28 19:03:12.418377
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_locale'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People provisioned before this have neither until their next import or SCIM change: null means "use the defaults".
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('locale')
