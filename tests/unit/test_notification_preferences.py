"""Preferences and their defaults, webhook URLs and payloads, and unsubscribe tokens."""

import json

import pytest

from services.notifications.preferences import DIGEST, EMAIL, IMMEDIATE, INBOX, KINDS, OFF, WEBHOOK, Choices
from services.notifications.unsubscribe import read_unsubscribe_token, unsubscribe_token
from services.notifications.webhooks import check_url, payload, url_hint
from shared.errors import InvalidInput, NotFound

SLACK_HOSTS = ["hooks.slack.com", "*.webhook.office.com"]


# --- preferences -----------------------------------------------------------------------------


def test_by_default_everything_reaches_the_inbox_and_most_things_email_at_once():
    nobody_chose = Choices({}, has_webhook=False)

    assert {nobody_chose.mode(kind, INBOX) for kind in KINDS} == {IMMEDIATE}
    assert nobody_chose.mode("approval-requested", EMAIL) == IMMEDIATE
    assert nobody_chose.mode("credential-expiring", EMAIL) == IMMEDIATE


def test_by_default_a_managers_pride_in_a_report_waits_for_the_daily_digest_and_cancellations_stay_in_the_inbox():
    nobody_chose = Choices({}, has_webhook=False)

    assert nobody_chose.mode("report-earned-credential", EMAIL) == DIGEST
    assert nobody_chose.mode("approval-cancelled", EMAIL) == OFF


def test_a_persons_choice_wins_over_the_default():
    chose = Choices({("credential-issued", EMAIL): DIGEST, ("credential-issued", INBOX): OFF}, has_webhook=False)

    assert (chose.mode("credential-issued", EMAIL), chose.mode("credential-issued", INBOX)) == (DIGEST, OFF)
    assert chose.mode("credential-revoked", EMAIL) == IMMEDIATE


def test_webhook_messages_go_out_only_to_people_who_set_a_webhook():
    assert Choices({}, has_webhook=False).mode("credential-issued", WEBHOOK) == OFF
    assert Choices({}, has_webhook=True).mode("credential-issued", WEBHOOK) == IMMEDIATE
    assert Choices({("credential-issued", WEBHOOK): OFF}, has_webhook=True).mode("credential-issued", WEBHOOK) == OFF


# --- webhooks -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://contoso.webhook.office.com/webhookb2/abc",
])
def test_webhooks_to_the_chat_services_are_accepted(url):
    check_url(url, allowed_hosts=SLACK_HOSTS, allow_http=False)


@pytest.mark.parametrize("url, why", [
    ("http://hooks.slack.com/services/T000", "plain http"),
    ("https://169.254.169.254/latest/meta-data", "another host"),
    ("https://hooks.slack.com.evil.example/x", "a look-alike host"),
    ("https://user:secret@hooks.slack.com/services/x", "credentials in the URL"),
    ("javascript:alert(1)", "not a web URL"),
    ("https://hooks.slack.com/" + "x" * 2000, "too long"),
])
def test_webhooks_anywhere_else_are_refused_so_the_worker_cannot_be_aimed_inside(url, why):
    with pytest.raises(InvalidInput):
        check_url(url, allowed_hosts=SLACK_HOSTS, allow_http=False)


def test_a_webhook_url_is_shown_only_as_a_hint():
    assert url_hint("https://hooks.slack.com/services/T000/B000/secretXYZW") == "https://hooks.slack.com/…XYZW"


def test_slack_gets_text_with_its_control_characters_escaped_and_a_link():
    body = json.loads(payload("slack", 'Ada earned "<b>SQL</b> & more"', "https://intranet/x"))

    assert body == {"text": 'Ada earned "&lt;b&gt;SQL&lt;/b&gt; &amp; more"\n<https://intranet/x|Open in Skillstack>'}


def test_teams_gets_an_adaptive_card_with_the_text_and_a_link():
    body = json.loads(payload("teams", "Ada earned SQL", "https://intranet/x"))
    card = body["attachments"][0]["content"]

    assert body["type"] == "message" and body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["body"][0]["text"] == "Ada earned SQL"
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in Skillstack", "url": "https://intranet/x"}


# --- unsubscribe ------------------------------------------------------------------------------


def test_an_unsubscribe_token_names_the_person_and_the_kind_of_email():
    token = unsubscribe_token("secret", "emp-1042", "credential-issued")

    assert read_unsubscribe_token("secret", token) == ("emp-1042", "credential-issued")
    assert read_unsubscribe_token("secret", unsubscribe_token("secret", "emp-1042", None)) == ("emp-1042", None)


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: unsubscribe_token("another secret", "emp-1042", "credential-issued"),
    lambda token: "not-a-token",
])
def test_a_forged_or_damaged_unsubscribe_token_is_refused(tamper):
    token = unsubscribe_token("secret", "emp-1042", "credential-issued")

    with pytest.raises(NotFound):
        read_unsubscribe_token("secret", tamper(token))
