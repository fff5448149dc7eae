"""The LMS repeats itself and its completions arrive out of order across employees."""

import pytest

from tests.faults.run import FaultRun


@pytest.mark.timeout(240)
def test_repeated_and_shuffled_completions_have_each_their_effect_once(platform, service_databases):
    run = FaultRun("duplicates and disorder", platform, service_databases, employees=24, seed=5)
    # 8 attempts posted twice, 8 records produced twice under one event id, 8 attempts through both doors.
    run.stream.add_duplicates(8)
    run.stream.start(over=10)
    run.stream.join()
    run.finish()
    # Each repeated post was answered "duplicate" (a post retried after a timeout may be one more).
    answers = run.stream.api_answers
    assert sum(answers.values()) == len(run.stream.sends["api"]) and (answers["duplicate"] == 8 or run.stream.api_retries), answers
