"""pathway versions: levels per version, and which version each employee is enrolled on

Revision ID: 0004_versions
Revises: 0003
Create Date: 2026-11-28 18:17:10.895358
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_versions'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pathway_enrollments',
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('pathway_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathways.id'], ),
    sa.PrimaryKeyConstraint('employee_id', 'pathway_id')
    )
    # Existing levels are version 1, which every existing pathway is. Employees who made progress before
    # this enrol lazily on their next progress (on version 1 if they hold a level or request of it).
    # The version becomes part of each table's key (autogenerate does not see key changes).
    with op.batch_alter_table('level_requirements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        _replace_primary_key(batch_op, 'level_requirements_pkey', ['achievement_id', 'pathway_id', 'version', 'level'])

    with op.batch_alter_table('levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        _replace_primary_key(batch_op, 'levels_pkey', ['pathway_id', 'version', 'number'])


def downgrade() -> None:
    # Only version 1 fits the old keys: later versions are dropped.
    op.execute("DELETE FROM levels WHERE version <> 1")
    op.execute("DELETE FROM level_requirements WHERE version <> 1")
    op.execute("UPDATE pathways SET version = 1")
    with op.batch_alter_table('levels', schema=None) as batch_op:
        _replace_primary_key(batch_op, 'levels_pkey', ['pathway_id', 'number'])
        batch_op.drop_column('version')

    with op.batch_alter_table('level_requirements', schema=None) as batch_op:
        _replace_primary_key(batch_op, 'level_requirements_pkey', ['achievement_id', 'pathway_id', 'level'])
        batch_op.drop_column('version')

    op.drop_table('pathway_enrollments')


def _replace_primary_key(batch_op, name: str, columns: list[str]) -> None:
    """Swap a table's primary key (PostgreSQL named it `<table>_pkey`; SQLite's batch copy takes the new one)."""
    if op.get_bind().dialect.name != 'sqlite':
        batch_op.drop_constraint(name, type_='primary')
    batch_op.create_primary_key(name, columns)
