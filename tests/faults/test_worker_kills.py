"""Workers are killed with SIGKILL every few seconds, each service in turn, and restarted."""

import random
import time
from collections import Counter
from itertools import cycle

import pytest

from tests.faults.run import FaultRun


@pytest.mark.timeout(300)
def test_workers_killed_every_few_seconds_lose_nothing_and_double_nothing(platform, service_databases):
    run = FaultRun("workers SIGKILLed every 3-5 s for 20 s", platform, service_databases, employees=20, seed=2)
    run.stream.add_poison("not-json", "wrong-schema", "unknown-type")
    run.stream.start(over=20)
    run.stream.wait_sent(5)
    pause, kills = random.Random(2), Counter()
    with run.fault():
        ends = time.monotonic() + 20
        for service in cycle(("issuer", "pathways", "notifications")):
            time.sleep(pause.uniform(3, 5))  # the fault's rhythm, not a wait for a result
            if time.monotonic() > ends:
                break
            platform.workers[service].kill()
            kills[service] += 1
            platform.workers[service].start()
    run.finish(redelivery=True, resent_allowed=kills["notifications"], release_claims=True, note=f"kills {dict(kills)}")
