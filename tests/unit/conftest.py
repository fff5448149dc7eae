"""Unit-level fixtures: a throwaway SQLite database with the delivery tables."""

import pytest

from shared.bus.tables import delivery_metadata
from shared.db import Database


@pytest.fixture
def database(tmp_path):
    """A service database in a temporary SQLite file, with the outbox and processed-event tables."""
    database = Database(f"sqlite:///{tmp_path / 'service.db'}")
    delivery_metadata.create_all(database.engine)
    yield database
    database.dispose()
