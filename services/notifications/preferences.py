"""Who chose what: the kinds of message, the channels they travel on, each person's choices and
the defaults that apply where they made none."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.notifications.models import PersonalSettings, Preference, Recipient, Webhook
from shared.errors import InvalidInput

INBOX, EMAIL, WEBHOOK = "inbox", "email", "webhook"
IMMEDIATE, DIGEST, OFF = "immediate", "digest", "off"
MODES = {INBOX: (IMMEDIATE, OFF), EMAIL: (IMMEDIATE, DIGEST, OFF), WEBHOOK: (IMMEDIATE, OFF)}


@dataclass(frozen=True)
class Kind:
    """A kind of message: what a person reads in their preferences, and how it reaches them by default."""

    label: str
    email: str = IMMEDIATE


KINDS = {
    "credential-issued": Kind("I earn a credential"),
    "credential-expiring": Kind("A credential of mine expires soon"),
    "credential-expired": Kind("A credential of mine has expired"),
    "credential-revoked": Kind("A credential of mine was revoked"),
    "advancement-approved": Kind("My manager approves my next level"),
    "advancement-rejected": Kind("My manager does not approve my next level"),
    "approval-requested": Kind("A report of mine is ready for their next level (to approve)"),
    "approval-cancelled": Kind("A request I was asked to decide was withdrawn or closed", email=OFF),
    "report-earned-credential": Kind("A report of mine earns a credential", email=DIGEST),
    "report-recertification-needed": Kind("A report's level needs a credential renewed"),
    "stuck-requests": Kind("Advancement requests wait too long for a decision (HR, daily)"),
}


@dataclass(frozen=True)
class Choices:
    """One person's choices, as loaded for deciding where their messages go."""

    chosen: dict[tuple[str, str], str]
    has_webhook: bool

    def mode(self, kind: str, channel: str) -> str:
        """How a kind of message reaches the person on a channel: their choice, else the default."""
        if channel == WEBHOOK and not self.has_webhook:
            return OFF
        if (kind, channel) in self.chosen:
            return self.chosen[kind, channel]
        return KINDS[kind].email if channel == EMAIL else IMMEDIATE


def choices_of(session: Session, employee_id: str) -> Choices:
    """Load a person's choices and whether they have a webhook of their own."""
    rows = session.execute(
        select(Preference.kind, Preference.channel, Preference.mode).where(Preference.employee_id == employee_id)
    )
    has_webhook = session.scalar(
        select(Webhook.id).where(Webhook.owner_id == employee_id, Webhook.scope == "personal")
    ) is not None
    return Choices({(kind, channel): mode for kind, channel, mode in rows}, has_webhook)


def preferences_of(session: Session, employee_id: str) -> dict:
    """Every kind on every channel with the person's effective mode, and their language and time zone."""
    choices = choices_of(session, employee_id)
    settings = session.get(PersonalSettings, employee_id)
    recipient = session.get(Recipient, employee_id)
    return {
        "preferences": [
            {
                "kind": kind,
                "label": spec.label,
                "channel": channel,
                "mode": choices.mode(kind, channel),
                "choices": list(MODES[channel]),
                "chosen": (kind, channel) in choices.chosen,
            }
            for kind, spec in KINDS.items()
            for channel in MODES
        ],
        "locale": settings.locale if settings else None,
        "time_zone": settings.time_zone if settings else None,
        "directory_locale": recipient.locale if recipient else None,
        "directory_time_zone": recipient.time_zone if recipient else None,
    }


def set_preferences(session: Session, employee_id: str, changes: list[dict]) -> None:
    """Record a person's choices; `mode: null` goes back to the default. All or nothing."""
    errors = []
    for index, change in enumerate(changes):
        kind, channel, mode = change["kind"], change["channel"], change["mode"]
        if kind not in KINDS:
            errors.append({"index": index, "field": "kind", "message": f"unknown kind {kind!r}"})
        elif channel not in MODES:
            errors.append({"index": index, "field": "channel", "message": f"unknown channel {channel!r}"})
        elif mode is not None and mode not in MODES[channel]:
            errors.append({"index": index, "field": "mode", "message": f"{channel} can be {', '.join(MODES[channel])}"})
    if errors:
        raise InvalidInput("some preferences are not valid: " + "; ".join(error["message"] for error in errors), errors=errors)
    for change in changes:
        key = {"employee_id": employee_id, "kind": change["kind"], "channel": change["channel"]}
        session.execute(delete(Preference).filter_by(**key))
        if change["mode"] is not None:
            session.add(Preference(**key, mode=change["mode"]))
    session.flush()


def unsubscribe(session: Session, employee_id: str, kind: str | None) -> None:
    """Stop emails of one kind, or of every kind (`None`)."""
    kinds = [kind] if kind else list(KINDS)
    set_preferences(session, employee_id, [{"kind": each, "channel": EMAIL, "mode": OFF} for each in kinds])


def set_locale_and_time_zone(session: Session, employee_id: str, changes: dict) -> None:
    """Change a person's language and/or time zone for their messages (`None`: as the directory says)."""
    locale, time_zone = changes.get("locale"), changes.get("time_zone")
    errors = []
    if locale is not None and not is_known_locale(locale):
        errors.append({"field": "locale", "message": f"unknown locale {locale!r} (use a tag like en-GB or de-DE)"})
    if time_zone is not None and not is_known_time_zone(time_zone):
        errors.append({"field": "time_zone", "message": f"unknown time zone {time_zone!r} (use a name like Europe/Berlin)"})
    if errors:
        raise InvalidInput("; ".join(error["message"] for error in errors), errors=errors)
    settings = session.get(PersonalSettings, employee_id) or PersonalSettings(employee_id=employee_id)
    for field in ("locale", "time_zone"):
        if field in changes:
            setattr(settings, field, changes[field])
    session.add(settings)


def is_known_locale(tag: str) -> bool:
    try:
        Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


def is_known_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
