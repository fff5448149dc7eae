"""The delivery tables every service database has: the outbox and the processed-event ids.

They live in their own MetaData, included in each service's migrations, so the outbox and
the idempotent consumer are written once and work against any service's database.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from shared.db import UtcDateTime

delivery_metadata = MetaData()

outbox = Table(
    "outbox",
    delivery_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Index("ix_outbox_unpublished", "id", postgresql_where="published_at IS NULL"),
)

processed_events = Table(
    "processed_events",
    delivery_metadata,
    Column("consumer_group", String(200), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", UtcDateTime, nullable=False),
)
