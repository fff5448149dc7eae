"""The Kafka broker stops for 30 s while completions stream in through both doors."""

import pytest

from tests.faults.run import FaultRun


@pytest.mark.timeout(300)
def test_a_30_second_broker_outage_loses_nothing_and_doubles_nothing(platform, service_databases, kafka_server):
    run = FaultRun("kafka broker down 30 s", platform, service_databases, employees=20, seed=1)
    run.stream.add_poison("not-json", "wrong-schema")
    # The intake API answers 202 from its outbox meanwhile; the LMS's producer buffers and retries.
    run.through_outage(kafka_server, 30, over=40)
    run.finish(redelivery=True)  # offsets committed while the group rebalanced after the restart may be lost
