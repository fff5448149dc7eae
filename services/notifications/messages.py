"""Who hears what: the notices an event causes, and their text rendered from templates in the
recipient's language and time zone."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events import Event

TEMPLATES = Path(__file__).parent / "templates" / "emails"

# Paths of the intranet (one origin, each service under its prefix) that each message links to.
WALLET = "/issuer/wallet#credential-{credential_id}"
TEAM = "/pathways/team#person-{employee_id}"
APPROVAL = "/pathways/approvals#request-{request_id}"
APPROVALS = "/pathways/approvals"
PATHWAY = "/pathways/#pathway-{pathway_id}"
PREFERENCES = "/notifications/preferences"


@dataclass(frozen=True)
class Notice:
    """One person to tell about one event, and with which template."""

    recipient_id: str
    kind: str
    link: str


@dataclass(frozen=True)
class Audience:
    """Whom a message is written for: their name, language, time zone and unsubscribe link."""

    name: str
    locale: str
    time_zone: str
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    footer: str = ""  # what plain-text emails add below the text: where to choose or stop messages

    @property
    def email_text(self) -> str:
        return self.text + self.footer


def notices_for(event: Event, manager_of: Callable[[str], str | None]) -> list[Notice]:
    """The people an event concerns: the employee, and their manager where a decision or pride is due."""
    data = event.data
    employee = data["employee_id"]
    action = event.type.removeprefix("skillstack.").rsplit(".", 1)[0]
    manager = data.get("manager_id") or manager_of(employee)
    if action == "issuer.credential.issued":
        notices = [Notice(employee, "credential-issued", WALLET.format(**data))]
        return notices + ([Notice(manager, "report-earned-credential", TEAM.format(**data))] if manager else [])
    if action in ("issuer.credential.expiring", "issuer.credential.expired", "issuer.credential.revoked"):
        return [Notice(employee, "credential-" + action.rsplit(".", 1)[1], WALLET.format(**data))]
    if action == "pathways.advancement.requested":
        return [Notice(manager, "approval-requested", APPROVAL.format(**data))] if manager else []
    if action in ("pathways.advancement.approved", "pathways.advancement.rejected"):
        return [Notice(employee, "advancement-" + action.rsplit(".", 1)[1], PATHWAY.format(**data))]
    if action in ("pathways.advancement.withdrawn", "pathways.advancement.closed"):
        return [Notice(manager, "approval-cancelled", APPROVALS)] if manager else []
    if action == "pathways.recertification.needed":
        return [Notice(manager, "report-recertification-needed", TEAM.format(**data))] if manager else []
    return []


def team_news_for(event: Event, manager_of: Callable[[str], str | None]) -> Notice | None:
    """What a manager's team channel hears of an event: a report earning a credential, nothing else."""
    if event.type != "skillstack.issuer.credential.issued.v1":
        return None
    manager = manager_of(event.data["employee_id"])
    return Notice(manager, "report-earned-credential", TEAM.format(**event.data)) if manager else None


class MessageRenderer:
    """Renders a message's subject, plain text and HTML from `templates/notifications/<kind>.{txt,html}`.

    The text template's first line is the subject. HTML is autoescaped, so names typed by
    people (credential names, comments) always render as text. Dates are written in the
    recipient's language and time zone (filters `date` and `datetime`).
    """

    def __init__(self, intranet_url: str):
        self.intranet_url = intranet_url.rstrip("/")
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, notice: Notice, event: Event, audience: Audience, subject_name: str) -> RenderedMessage:
        """The message telling `audience` about `event`, with `subject_name` the employee it concerns."""
        return self.render_kind(notice.kind, audience, link=notice.link, data=event.data, employee_name=subject_name)

    def render_kind(self, kind: str, audience: Audience, *, link: str, **context) -> RenderedMessage:
        """A message of `kind` from its templates with any context (digests have no single event)."""
        zone = ZoneInfo(audience.time_zone)
        locale = audience.locale.replace("-", "_")
        context |= {
            "recipient_name": audience.name,
            "link": self.intranet_url + link,
            "preferences_url": self.intranet_url + PREFERENCES,
            "unsubscribe_url": audience.unsubscribe_url,
            "date": lambda moment: format_date(_local(moment, zone), "long", locale=locale),
            "datetime": lambda moment: format_datetime(_local(moment, zone), "medium", tzinfo=zone, locale=locale),
            "intranet": lambda path: self.intranet_url + path,
            "language": audience.locale.split("-")[0],
        }
        text = self.environment.get_template(f"{kind}.txt").render(context)
        subject, _, body = text.partition("\n")
        html = self.environment.get_template(f"{kind}.html").render(context | {"subject": subject.strip()})
        footer = f"\n--\nChoose which messages you receive: {context['preferences_url']}\n"
        if audience.unsubscribe_url:
            footer += f"Unsubscribe from these emails: {audience.unsubscribe_url}\n"
        return RenderedMessage(subject=subject.strip(), text=body.strip() + "\n", html=html, footer=footer)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A timestamp as the recipient's wall clock shows it (dates can differ from UTC's)."""
    return moment.astimezone(zone)
