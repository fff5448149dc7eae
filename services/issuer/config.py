from shared.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "issuer"
    DATABASE_URL = "sqlite:///.local/issuer.db"
    EVENT_SOURCE = "/skillstack/issuer"
    # Open Badges: the private signing keys (a JWK set, the first signs) come from the environment.
    SIGNING_KEYS: dict | None = None
    PUBLIC_URL = "http://127.0.0.1:8001"  # where verifiers find credentials, keys and status lists
    PROFILE_NAME = "Skillstack Academy"
    PROFILE_EMAIL: str | None = None
    # Expiry announcements: the notice comes this many days before `valid_until`; the worker looks
    # for due credentials every EXPIRY_CHECK_SECONDS, at most EXPIRY_BATCH_SIZE per transaction.
    EXPIRY_NOTICE_DAYS = 30
    EXPIRY_CHECK_SECONDS = 60
    EXPIRY_BATCH_SIZE = 100
    # Bulk issuance: an uploaded CSV of awards may be this large; the worker looks for started jobs
    # every BULK_ISSUANCE_CHECK_SECONDS and issues BULK_ISSUANCE_BATCH_SIZE rows per transaction.
    BULK_ISSUANCE_MAX_BYTES = 32 * 1024 * 1024
    BULK_ISSUANCE_MAX_ROWS = 200_000
    BULK_ISSUANCE_CHECK_SECONDS = 5
    BULK_ISSUANCE_BATCH_SIZE = 200
