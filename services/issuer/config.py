from shared.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "issuer"
    DATABASE_URL = "sqlite:///.local/issuer.db"
    EVENT_SOURCE = "/skillstack/issuer"
