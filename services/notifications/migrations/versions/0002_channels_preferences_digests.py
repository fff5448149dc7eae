"""channels, preferences, webhooks, digests and open requests

Email deliveries become deliveries on a channel (email or webhook), one per (event, recipient,
channel); existing rows are kept as email deliveries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'recipient_id', 'channel', name='uq_delivery_event_recipient_channel')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_due', ['channel', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_delivery_created', ['created_at'], unique=False)
    op.execute(
        "INSERT INTO deliveries (id, recipient_id, event_id, channel, webhook_id, kind, subject, text_body, html_body,"
        " status, attempts, next_attempt_at, last_error, created_at, sent_at)"
        " SELECT id, recipient_id, event_id, 'email', NULL, kind, subject, text_body, html_body,"
        " status, attempts, next_attempt_at, last_error, created_at, sent_at FROM email_deliveries"
    )
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_email_due')
    op.drop_table('email_deliveries')

    op.create_table('digest_entries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'recipient_id', name='uq_digest_event_recipient')
    )
    with op.batch_alter_table('digest_entries', schema=None) as batch_op:
        batch_op.create_index('ix_digest_waiting', ['digest_id', 'recipient_id'], unique=False)

    op.create_table('open_requests',
    sa.Column('request_id', sa.String(length=200), nullable=False),
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('manager_id', sa.String(length=200), nullable=True),
    sa.Column('pathway_name', sa.String(length=200), nullable=False),
    sa.Column('level_name', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('open_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_requests_requested_at'), ['requested_at'], unique=False)

    op.create_table('personal_settings',
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('locale', sa.String(length=35), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('employee_id')
    )
    op.create_table('preferences',
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('employee_id', 'kind', 'channel')
    )
    op.create_table('webhooks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_id', 'scope', name='uq_webhook_owner_scope')
    )
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_recipients_manager_id'), ['manager_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recipients_manager_id'))
        batch_op.drop_column('time_zone')
        batch_op.drop_column('locale')
    for table in ('webhooks', 'preferences', 'personal_settings', 'open_requests', 'digest_entries'):
        op.drop_table(table)
    op.create_table('email_deliveries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'recipient_id', name='uq_email_event_recipient')
    )
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_email_due', ['status', 'next_attempt_at'], unique=False)
    op.execute(
        "INSERT INTO email_deliveries SELECT id, recipient_id, event_id, kind, subject, text_body, html_body,"
        " status, attempts, next_attempt_at, last_error, created_at, sent_at FROM deliveries WHERE channel = 'email'"
    )
    op.drop_table('deliveries')
