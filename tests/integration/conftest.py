"""Fixtures of the integration level: one service at a time, against real PostgreSQL and Kafka."""

import pytest

from tests.integration.pathways_support import team  # noqa: F401 - a fixture shared by the pathways tests


@pytest.fixture
def issuer(apps):
    """The issuer app on this session's database."""
    return apps["issuer"]


@pytest.fixture
def pathways(apps):
    """The pathways app on this session's database."""
    return apps["pathways"]


@pytest.fixture
def notifications(apps):
    """The notifications app on this session's database."""
    return apps["notifications"]
