"""Alembic, driven from code: each service keeps its revisions in `services/<name>/migrations/`."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from shared.db import UtcDateTime


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config for one service's migrations and database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "heads") -> None:
    """Bring a service's database schema up to date."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def _render_item(type_, obj, autogen_context):
    """Write UtcDateTime columns as plain DateTime(timezone=True): migrations never import app code."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(target_metadata: list[MetaData]) -> None:
    """The body of every service's `env.py`: run migrations online against the configured URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
