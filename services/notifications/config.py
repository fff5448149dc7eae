from shared.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "notifications"
    DATABASE_URL = "sqlite:///.local/notifications.db"
    EVENT_SOURCE = "/skillstack/notifications"
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 1025
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_TIMEOUT = 10
    MAIL_FROM = "Skillstack <skillstack@localhost>"
    # Failed emails and webhook posts are retried with exponential backoff, then recorded as failed.
    DELIVERY_MAX_ATTEMPTS = 12
    DELIVERY_RETRY_BASE_SECONDS = 2.0
    DELIVERY_RETRY_MAX_SECONDS = 3600.0
    # Webhooks may only post to these hosts (shell patterns), over HTTPS unless WEBHOOK_ALLOW_HTTP.
    WEBHOOK_ALLOWED_HOSTS = "hooks.slack.com,*.webhook.office.com,*.logic.azure.com"
    WEBHOOK_ALLOW_HTTP = False
    WEBHOOK_TIMEOUT = 10
    # Messages are written in the recipient's language and time zone; these apply when nobody said.
    DEFAULT_LOCALE = "en"
    DEFAULT_TIME_ZONE = "UTC"
    DIGEST_HOUR = 8  # local hour from which daily digests are sent
    DIGEST_CHECK_SECONDS = 60
    HR_DIGEST_RECIPIENTS = ""  # employee ids of the HR people told daily about requests waiting too long
    STUCK_AFTER_DAYS = 7


def listed(value) -> list[str]:
    """A list setting given as a list or as comma-separated text (environment variables)."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [item.strip() for item in items if item and item.strip()]
