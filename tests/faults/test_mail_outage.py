"""The mail server is down while completions stream in through both doors: the combined-stream
version of tests/e2e/test_notification_outages.py, which covers mail and webhook outages in depth."""

import time

import pytest

from tests.faults.run import FaultRun


@pytest.mark.timeout(300)
def test_a_mail_server_outage_delays_emails_but_nothing_else(platform, service_databases):
    run = FaultRun("SMTP server down while the stream runs", platform, service_databases, employees=20, seed=4)
    run.stream.add_poison("not-json")
    ledger = run.ledger
    platform.mail.stop()
    try:
        with run.fault():
            run.stream.start(over=10)
            run.stream.join()
            # Credentials, requests and inbox items do not wait for the mail server; emails wait for their retry.
            tally, _ = ledger.wait_until(
                lambda tally: all(getattr(tally, name) == ledger.expected[name] for name in ("credentials", "requests", "inbox"))
                and sum(tally.emails.values()) == sum(ledger.expected["emails"].values()),
                time.monotonic(), 90, "every effect but the emails while SMTP is down",
            )
            assert tally.unsent_emails >= sum(ledger.expected["emails"].values()) and not tally.received
    finally:
        platform.mail.start()
    run.finish()
