"""Alembic environment of the pathways service."""

from services.pathways.models import Base
from shared.audit import audit_metadata
from shared.bus.tables import delivery_metadata
from shared.migrations import run_migrations

run_migrations([Base.metadata, delivery_metadata, audit_metadata])
