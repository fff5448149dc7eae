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
