"""Rebuild the pathways projections from scratch by replaying their topics from the beginning.

What is rebuilt, and from which topic:

- `catalog` from `issuer.catalog` (credential defined), and `held_credentials` from
  `issuer.credentials` (issued, revoked, expired). They are projections of the issuer's facts:
  both tables are emptied and refilled by the worker's own handlers, so a rebuild ends where
  incremental processing ended.

What is kept as it is, and why:

- `people`, `pathways`, `levels`, `level_requirements`: pathways is their source of truth
  (HR's org chart and pathway definitions); no topic holds them in full.
- `level_attainments`, `advancement_requests` and their history, `pathway_enrollments` (the
  version each employee is on): pathways' own decisions. A
  manager's approval or rejection exists only here, and levels that need no approval are
  never announced on `pathways.advancements`, so these cannot be rebuilt from topics; deleting
  them would lose facts.
- `outbox` and `processed_events`: delivery bookkeeping. The worker's consumer-group offsets
  live in Kafka; an event it has yet to handle is handled after the rebuild as usual, and the
  projection handlers are idempotent (merge by version, insert if absent, set a status).

How decisions survive and nothing is announced twice: the handlers run with
`progress=False`, so they write the projections only. Re-running the progress rule would not
be a function of the topics: it would use today's clock and today's pathways, and reopen
requests a manager has since rejected, announcing each again to notifications. Those steps
(progress, the request lifecycle, recertification) are the handlers' only publishers, so a
replay writes no outbox rows; the rebuild refuses any outbox insert in its session and rolls
back, rather than re-announcing history should a future handler publish.

How: one database transaction deletes both tables, replays `issuer.catalog`, then
`issuer.credentials` (catalog first, as the issuer published definitions before issuing),
and commits. Readers see the old projections until the commit; on PostgreSQL the two tables
are locked against writes, so a running worker waits rather than interleaves. Records are read
without a consumer group, every partition from its beginning up to its end offset taken at the
start, in partition order (one employee's events share a partition). Poison records are
skipped: the worker has dead-lettered them already. A rebuild needs the topics kept in full
(no deletion by retention, no compaction).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import delete, func, select, text
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.orm import ORMExecuteState, Session

from services.pathways.handlers import build_handlers
from services.pathways.models import CatalogEntry, HeldCredential
from shared.bus.tables import outbox
from shared.db import Database
from shared.events import EventDecodeError, EventValidationError, decode

# Catalog before credentials: the order the issuer created them in.
REPLAYED_TOPICS = ("issuer.catalog", "issuer.credentials")
PROJECTIONS = (HeldCredential, CatalogEntry)
FLUSH_EVERY = 1000  # records; keeps the session's identity map small on long topics


class ReplayError(RuntimeError):
    """The rebuild could not complete; nothing was changed."""


@dataclass
class TopicReplay:
    """What replaying one topic did."""

    records: int = 0
    applied: int = 0
    ignored: int = 0  # event types pathways has no handler for
    poison: int = 0  # undecodable or invalid: on the dead-letter topic already


@dataclass
class RebuildReport:
    """Per topic, what was replayed; per table, how many rows the rebuilt projection holds."""

    topics: dict[str, TopicReplay] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def rebuild_projections(
    database: Database,
    bootstrap_servers: str,
    *,
    source: str,
    clock: Callable[[], datetime],
    stall_timeout: float = 30.0,
) -> RebuildReport:
    """Empty the catalog and held-credential projections and rebuild them from their topics."""
    handlers = build_handlers(source=source, clock=clock, progress=False)
    report = RebuildReport()
    with database.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE catalog, held_credentials IN EXCLUSIVE MODE"))
        sqlalchemy_events.listen(session, "do_orm_execute", _refuse_publishing)
        for model in PROJECTIONS:
            session.execute(delete(model))
        for topic in REPLAYED_TOPICS:
            report.topics[topic] = _replay_topic(session, bootstrap_servers, topic, handlers, stall_timeout)
        session.flush()
        report.rows = {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in PROJECTIONS}
    return report


def _refuse_publishing(execution: ORMExecuteState) -> None:
    """Stop the rebuild if a handler writes to the outbox: replayed history must not be announced again."""
    if execution.is_insert and getattr(execution.statement, "table", None) is outbox:
        raise ReplayError("a handler published an event during the replay; rolled back so history is not re-announced")


def _replay_topic(session: Session, bootstrap_servers: str, topic: str, handlers, stall_timeout: float) -> TopicReplay:
    """Apply every record of a topic, as it stood when the replay began, to the projections."""
    replay = TopicReplay()
    for record in read_from_beginning(bootstrap_servers, topic, stall_timeout=stall_timeout):
        replay.records += 1
        try:
            event = decode(record.value)
        except (EventDecodeError, EventValidationError):
            replay.poison += 1
            continue
        handler = handlers.get(event.type)
        if handler is None:
            replay.ignored += 1
            continue
        handler(session, event)
        replay.applied += 1
        if replay.applied % FLUSH_EVERY == 0:
            session.flush()
            session.expunge_all()
    return replay


def read_from_beginning(bootstrap_servers: str, topic: str, *, stall_timeout: float) -> Iterator:
    """Every record of a topic up to its end offsets taken now, each partition in order."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id="pathways-replay",
        group_id=None,
        enable_auto_commit=False,
    )
    try:
        partitions = [TopicPartition(topic, number) for number in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise ReplayError(f"topic {topic} does not exist")
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        remaining = {partition for partition in partitions if consumer.position(partition) < end[partition]}
        consumer.pause(*(set(partitions) - remaining))
        last_progress = time.monotonic()
        while remaining:
            batch = consumer.poll(timeout_ms=500)
            for partition, records in batch.items():
                yield from (record for record in records if record.offset < end[partition])
            for partition in [partition for partition in remaining if consumer.position(partition) >= end[partition]]:
                remaining.discard(partition)
                consumer.pause(partition)
            if batch:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_timeout:
                raise ReplayError(f"no progress reading {topic} for {stall_timeout:.0f}s")
    finally:
        consumer.close()


@click.command("replay-projections")
@with_appcontext
def replay_projections_command() -> None:
    """Rebuild the catalog and held credentials by replaying issuer.catalog and issuer.credentials."""
    app = current_app
    report = rebuild_projections(
        app.extensions["database"],
        app.config["KAFKA_BOOTSTRAP_SERVERS"],
        source=app.config["EVENT_SOURCE"],
        clock=app.extensions["clock"],
    )
    for topic, replay in report.topics.items():
        click.echo(
            f"{topic}: {replay.records} records, {replay.applied} applied, "
            f"{replay.ignored} of other types, {replay.poison} poison skipped"
        )
    for table, rows in report.rows.items():
        click.echo(f"{table}: {rows} rows")
