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
    EMAIL_MAX_ATTEMPTS = 12
    EMAIL_RETRY_BASE_SECONDS = 2.0
    EMAIL_RETRY_MAX_SECONDS = 3600.0
