"""Who hears about what, what their message says, and how patiently we retry sending it."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape

from services.notifications.delivery import RetryPolicy
from services.notifications.email_delivery import smtp_failure
from services.notifications.messages import TEMPLATES, Audience, MessageRenderer, Notice, notices_for, team_news_for
from shared.events import new_event

INTRANET_URL = "https://intranet.example.com/skills/"
EMPLOYEE, MANAGER = "emp-1042", "emp-0007"
HOSTILE = "<script>alert(1)</script>"

CREDENTIAL = {"credential_id": "cred-5d1c", "employee_id": EMPLOYEE, "achievement_id": "sql-foundations", "achievement_name": "SQL Foundations"}
LEVEL = {"request_id": "req-7f3a", "employee_id": EMPLOYEE, "pathway_id": "data-analyst", "pathway_name": "Data Analyst", "level": 1, "level_name": "Junior Analyst"}
DECISION = LEVEL | {"decided_by": MANAGER, "decided_at": datetime(2025, 3, 20, tzinfo=UTC)}
VALID_UNTIL = datetime(2027, 3, 14, 9, 30, tzinfo=UTC)

DATA = {
    "issued": CREDENTIAL | {"achievement_version": 1, "issued_at": datetime(2025, 3, 14, tzinfo=UTC), "valid_until": VALID_UNTIL, "source_event_id": "evt-lms-1"},
    "expiring": CREDENTIAL | {"valid_until": VALID_UNTIL},
    "expired": CREDENTIAL | {"valid_until": VALID_UNTIL},
    "revoked": CREDENTIAL | {"revoked_at": datetime(2025, 4, 1, tzinfo=UTC), "reason": "Issued to the wrong person."},
    "requested": LEVEL | {"manager_id": MANAGER, "requested_at": datetime(2025, 3, 14, tzinfo=UTC)},
    "approved": DECISION | {"comment": "Well deserved."},
    "rejected": DECISION | {"comment": "Let's pair on a real report first."},
    "withdrawn": DECISION | {"decided_by": EMPLOYEE, "comment": ""},
    "closed": DECISION | {"decided_by": "system", "comment": "credential cred-5d1c expired before the decision", "credential_id": "cred-5d1c", "cause": "expired"},
    "recertification": CREDENTIAL | {"manager_id": MANAGER, "pathway_id": "data-analyst", "pathway_name": "Data Analyst", "level": 1, "level_name": "Junior Analyst", "cause": "expired"},
}
TYPES = {
    "issued": "skillstack.issuer.credential.issued.v1",
    "expiring": "skillstack.issuer.credential.expiring.v1",
    "expired": "skillstack.issuer.credential.expired.v1",
    "revoked": "skillstack.issuer.credential.revoked.v1",
    "requested": "skillstack.pathways.advancement.requested.v1",
    "approved": "skillstack.pathways.advancement.approved.v1",
    "rejected": "skillstack.pathways.advancement.rejected.v1",
    "withdrawn": "skillstack.pathways.advancement.withdrawn.v1",
    "closed": "skillstack.pathways.advancement.closed.v1",
    "recertification": "skillstack.pathways.recertification.needed.v1",
}

# Each message kind: the event that causes it and the subject its recipient sees.
MESSAGES = {
    "credential-issued": ("issued", 'You earned "SQL Foundations"'),
    "report-earned-credential": ("issued", 'Ada Lovelace earned "SQL Foundations"'),
    "credential-expiring": ("expiring", 'Your credential "SQL Foundations" expires on March 14, 2027'),
    "credential-expired": ("expired", 'Your credential "SQL Foundations" has expired'),
    "credential-revoked": ("revoked", 'Your credential "SQL Foundations" was revoked'),
    "approval-requested": ("requested", "Ada Lovelace is ready for Junior Analyst: please review"),
    "advancement-approved": ("approved", "You advanced to Junior Analyst"),
    "advancement-rejected": ("rejected", "Your request for Junior Analyst was not approved"),
    "approval-cancelled": ("withdrawn", "Ada Lovelace's request for Junior Analyst no longer needs your decision"),
    "report-recertification-needed": ("recertification", 'Ada Lovelace needs to renew "SQL Foundations" for Junior Analyst'),
}
DAILY = {"daily-digest", "stuck-requests"}  # composed once a day, not from one event
UNSUBSCRIBE = "https://intranet.example.com/skills/notifications/unsubscribe/token"
GRACE = Audience("Grace Hopper", "en", "UTC", UNSUBSCRIBE)


def event(name: str, **changes):
    """The event `name` (a key of DATA), as its producer would publish it."""
    return new_event(TYPES[name], DATA[name] | changes, source="urn:test")[0]


def directory(**managers):
    """A directory lookup of each employee's manager."""
    return lambda employee_id: managers.get(employee_id.replace("-", "_"))


def rendered(kind: str, employee_name="Ada Lovelace", **changes):
    """The message of `kind` for its event, addressed as notices_for addresses it, to Grace Hopper."""
    happened = event(MESSAGES[kind][0], **changes)
    [notice] = [notice for notice in notices_for(happened, directory(emp_1042=MANAGER)) if notice.kind == kind]
    return notice, MessageRenderer(INTRANET_URL).render(notice, happened, GRACE, employee_name)


# --- who hears what ---------------------------------------------------------------------


def test_an_issued_credential_is_told_to_the_employee_and_their_manager():
    assert notices_for(event("issued"), directory(emp_1042=MANAGER)) == [
        Notice(EMPLOYEE, "credential-issued", "/issuer/wallet#credential-cred-5d1c"),
        Notice(MANAGER, "report-earned-credential", f"/pathways/team#person-{EMPLOYEE}"),
    ]


def test_an_issued_credential_of_someone_without_a_known_manager_is_told_to_them_only():
    assert notices_for(event("issued"), directory()) == [Notice(EMPLOYEE, "credential-issued", "/issuer/wallet#credential-cred-5d1c")]


def test_an_approval_request_goes_to_the_manager_named_in_the_event_first():
    assert notices_for(event("requested"), directory(emp_1042="emp-0999")) == [Notice(MANAGER, "approval-requested", "/pathways/approvals#request-req-7f3a")]


def test_an_approval_request_without_a_manager_falls_back_to_the_directory():
    assert notices_for(event("requested", manager_id=None), directory(emp_1042="emp-0999")) == [
        Notice("emp-0999", "approval-requested", "/pathways/approvals#request-req-7f3a")
    ]


def test_an_approval_request_with_no_manager_anywhere_reaches_nobody():
    assert notices_for(event("requested", manager_id=None), directory()) == []


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_a_decision_is_told_to_the_employee(decision):
    assert notices_for(event(decision), directory(emp_1042=MANAGER)) == [Notice(EMPLOYEE, f"advancement-{decision}", "/pathways/#pathway-data-analyst")]


@pytest.mark.parametrize("change", ["expiring", "expired", "revoked"])
def test_a_change_to_a_credential_is_told_to_its_holder_only(change):
    assert notices_for(event(change), directory(emp_1042=MANAGER)) == [Notice(EMPLOYEE, f"credential-{change}", "/issuer/wallet#credential-cred-5d1c")]


@pytest.mark.parametrize("ending", ["withdrawn", "closed"])
def test_a_request_that_ends_without_a_decision_is_told_to_the_manager_who_was_asked(ending):
    assert notices_for(event(ending), directory(emp_1042=MANAGER)) == [Notice(MANAGER, "approval-cancelled", "/pathways/approvals")]


def test_a_level_losing_a_credential_it_depends_on_is_told_to_the_manager():
    assert notices_for(event("recertification"), directory(emp_1042="emp-0999")) == [
        Notice(MANAGER, "report-recertification-needed", f"/pathways/team#person-{EMPLOYEE}")
    ]


def test_the_team_channel_hears_of_credentials_earned_and_nothing_else():
    assert team_news_for(event("issued"), directory(emp_1042=MANAGER)) == Notice(MANAGER, "report-earned-credential", f"/pathways/team#person-{EMPLOYEE}")
    assert team_news_for(event("issued"), directory()) is None
    assert [team_news_for(event(name), directory(emp_1042=MANAGER)) for name in ("expired", "approved", "requested")] == [None, None, None]


def test_a_directory_change_notifies_nobody():
    person, _ = new_event("skillstack.directory.person.upserted.v1", {"employee_id": EMPLOYEE, "email": "ada@example.com", "name": "Ada"}, source="urn:test")

    assert notices_for(person, directory(emp_1042=MANAGER)) == []


# --- what the message says ------------------------------------------------------------------


def test_every_template_has_a_message_kind_here():
    assert {path.stem for path in TEMPLATES.glob("*.txt")} == set(MESSAGES) | DAILY


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_each_message_has_its_subject_a_greeting_and_a_link_into_the_intranet(kind):
    notice, message = rendered(kind)
    link = INTRANET_URL.rstrip("/") + notice.link

    assert message.subject == MESSAGES[kind][1]
    assert message.text.startswith("Hello Grace Hopper,\n")  # the subject line is not repeated in the body
    assert link in message.text and f'href="{link}"' in message.html
    assert f"<title>{escape(message.subject)}</title>" in message.html


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_names_typed_by_people_are_shown_as_text_in_html_never_run(kind):
    hostile = {field: HOSTILE for field in ("achievement_name", "pathway_name", "level_name", "comment", "reason") if field in DATA[MESSAGES[kind][0]]}

    _, message = rendered(kind, employee_name=f"Mallory {HOSTILE}", **hostile)

    assert HOSTILE in message.text + message.subject  # plain text shows it as typed
    assert "&lt;script&gt;" in message.html
    assert "<script" not in message.html


def test_dates_are_written_in_the_recipients_language_and_on_their_calendar():
    late_in_utc = datetime(2027, 3, 14, 23, 30, tzinfo=UTC)  # already the 15th in Auckland
    happened = event("expiring", valid_until=late_in_utc)
    [notice] = notices_for(happened, directory())
    renderer = MessageRenderer(INTRANET_URL)

    german = renderer.render(notice, happened, Audience("Grete", "de-DE", "Pacific/Auckland"), "Grete")
    british = renderer.render(notice, happened, Audience("Grace", "en-GB", "Europe/London"), "Grace")

    assert german.subject.endswith("expires on 15. März 2027")
    assert british.subject.endswith("expires on 14 March 2027")
    assert '<html lang="de">' in german.html


def test_every_email_offers_the_preferences_page_and_its_unsubscribe_link():
    _, message = rendered("credential-issued")

    assert message.email_text.endswith(f"Unsubscribe from these emails: {UNSUBSCRIBE}\n")
    assert "/notifications/preferences" in message.email_text
    assert f'href="{UNSUBSCRIBE}"' in message.html
    assert UNSUBSCRIBE not in message.text  # the inbox shows the message without the email's footer


def test_a_credential_without_an_end_date_does_not_mention_one():
    _, message = rendered("credential-issued", valid_until=None)

    assert "valid until" not in message.text and "valid until" not in message.html


# --- retrying delivery ------------------------------------------------------------------


def test_retry_delays_double_from_the_base_and_stop_growing_at_the_cap():
    policy = RetryPolicy(base_seconds=30, max_seconds=300)

    assert [policy.delay(attempts) for attempts in range(1, 7)] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 300, 300)]


def test_the_default_policy_waits_at_most_an_hour():
    policy = RetryPolicy()

    assert (policy.delay(1), policy.delay(2), policy.delay(12)) == (timedelta(seconds=2), timedelta(seconds=4), timedelta(hours=1))


@pytest.mark.parametrize("error, permanent", [
    (smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such mailbox")}), True),
    (smtplib.SMTPDataError(554, b"message refused"), True),
    (smtplib.SMTPDataError(451, b"try again later"), False),
    (smtplib.SMTPServerDisconnected("gone"), False),
    (ConnectionRefusedError(111, "refused"), False),
    (TimeoutError("timed out"), False),
])
def test_a_mailbox_the_server_rejects_is_final_and_a_server_that_is_down_is_waited_out(error, permanent):
    failure = smtp_failure(error)

    assert (failure.permanent, failure.transient) == (permanent, not permanent)
