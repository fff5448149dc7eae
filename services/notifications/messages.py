"""Who hears what: the notices an event causes, and their text rendered from templates."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events import Event

TEMPLATES = Path(__file__).parent / "templates" / "notifications"


@dataclass(frozen=True)
class Notice:
    """One person to tell about one event, and with which template."""

    recipient_id: str
    kind: str
    link: str


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def notices_for(event: Event, manager_of: Callable[[str], str | None]) -> list[Notice]:
    """The people an event concerns: the employee, and their manager where a decision or pride is due."""
    data = event.data
    employee = data["employee_id"]
    kind = event.type.removeprefix("skillstack.").rsplit(".", 1)[0]
    if kind == "issuer.credential.issued":
        notices = [Notice(employee, "credential-issued", f"/wallet/{data['credential_id']}")]
        manager = manager_of(employee)
        if manager:
            notices.append(Notice(manager, "report-earned-credential", f"/team/{employee}"))
        return notices
    if kind in ("issuer.credential.expiring", "issuer.credential.expired", "issuer.credential.revoked"):
        return [Notice(employee, "credential-" + kind.rsplit(".", 1)[1], f"/wallet/{data['credential_id']}")]
    if kind == "pathways.advancement.requested":
        manager = data.get("manager_id") or manager_of(employee)
        return [Notice(manager, "approval-requested", f"/approvals/{data['request_id']}")] if manager else []
    if kind in ("pathways.advancement.approved", "pathways.advancement.rejected"):
        return [Notice(employee, "advancement-" + kind.rsplit(".", 1)[1], f"/pathways/{data['pathway_id']}")]
    return []


class MessageRenderer:
    """Renders a notice's subject, plain text and HTML from `templates/notifications/<kind>.{txt,html}`.

    The text template's first line is the subject. HTML is autoescaped, so names typed by
    people (credential names, comments) always render as text.
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

    def render(self, notice: Notice, event: Event, recipient_name: str, subject_name: str) -> RenderedMessage:
        context = {
            "data": event.data,
            "recipient_name": recipient_name,
            "employee_name": subject_name,
            "link": self.intranet_url + notice.link,
        }
        text = self.environment.get_template(f"{notice.kind}.txt").render(context)
        subject, _, body = text.partition("\n")
        html = self.environment.get_template(f"{notice.kind}.html").render(context | {"subject": subject})
        return RenderedMessage(subject=subject.strip(), text=body.strip() + "\n", html=html)
