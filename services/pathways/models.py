"""The pathways tables: the directory, the catalog projection, pathways, progress and requests."""

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, and_, text
from shared.db import UtcDateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Someone in the org chart. People who leave are deactivated, never deleted."""

    __tablename__ = "people"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str | None] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # How to address them (a BCP 47 tag, e.g. en-GB) and their IANA time zone; None: unknown, use defaults.
    locale: Mapped[str | None] = mapped_column(String(35))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(200))  # as the org chart or the IdP names it; None: not known


class CatalogEntry(Base):
    """The issuer's catalog as this service knows it (projection of `issuer.catalog`)."""

    __tablename__ = "catalog"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    retired: Mapped[bool] = mapped_column(default=False)
    # Achievement ids to hold first, and the catalog's estimate of the hours to earn it (None: unknown).
    prerequisites: Mapped[list[str]] = mapped_column(JSON, default=list)
    effort_hours: Mapped[float | None] = mapped_column(Float)


class CatalogSkill(Base):
    """A skill of a public framework that a catalog entry certifies (projection of its `skills`): one row per alignment."""

    __tablename__ = "catalog_skills"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    framework: Mapped[str] = mapped_column(String(50), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Pathway(Base):
    """An ordered ladder of levels, e.g. Data Analyst: Junior, Associate, Senior. `version` is the current one."""

    __tablename__ = "pathways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The current version's levels; enrollment.levels_of reads any version's.
    levels: Mapped[list["Level"]] = relationship(
        primaryjoin=lambda: and_(Level.pathway_id == Pathway.id, Level.version == Pathway.version),
        order_by="Level.number",
        lazy="selectin",
        viewonly=True,
    )


class Level(Base):
    """One rung of one version of a pathway: what it needs beyond the previous level, and whether a manager approves."""

    __tablename__ = "levels"

    pathway_id: Mapped[str] = mapped_column(ForeignKey("pathways.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    required_achievements: Mapped[list[str]] = mapped_column(JSON)  # all of these ("all_of")
    # Groups of {"n": int, "credentials": [ids]}: at least n of each group.
    n_of: Mapped[list[dict]] = mapped_column(JSON, default=list)
    min_months_at_previous_level: Mapped[int] = mapped_column(Integer, default=0)
    # At least this many valid credentials of the "soft" catalog category, whichever they are.
    min_soft_skill_credentials: Mapped[int] = mapped_column(Integer, default=0)
    requires_approval: Mapped[bool] = mapped_column(default=True)


class LevelRequirement(Base):
    """Which levels need which achievement: finds the pathways a new credential can move."""

    __tablename__ = "level_requirements"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pathway_id: Mapped[str] = mapped_column(ForeignKey("pathways.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)


class PathwayEnrollment(Base):
    """The pathway version an employee progresses on: current when they first made progress, until HR migrates them."""

    __tablename__ = "pathway_enrollments"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    pathway_id: Mapped[str] = mapped_column(ForeignKey("pathways.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HeldCredential(Base):
    """A credential an employee holds (projection of `issuer.credentials`)."""

    __tablename__ = "held_credentials"
    __table_args__ = (Index("ix_held_credentials_employee", "employee_id"),)

    credential_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(200))
    achievement_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="valid")


class LevelAttainment(Base):
    """An employee holds a pathway level, since when, and who approved it."""

    __tablename__ = "level_attainments"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    pathway_id: Mapped[str] = mapped_column(ForeignKey("pathways.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    attained_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(200))


class AdvancementRequest(Base):
    """A request for a manager to approve an employee's next level."""

    __tablename__ = "advancement_requests"
    __table_args__ = (
        # At most one open request per employee and level, even if two processes race to open it.
        Index(
            "uq_requests_one_open",
            "employee_id",
            "pathway_id",
            "level",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_requests_manager_status", "manager_id", "status"),
        # HR's overview lists open requests by age; decided requests are never deleted and pile up.
        Index("ix_requests_open_opened_at", "opened_at", postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(200), index=True)
    manager_id: Mapped[str | None] = mapped_column(String(200))
    pathway_id: Mapped[str] = mapped_column(ForeignKey("pathways.id"))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)


class AdvancementRequestHistory(Base):
    """One change of an advancement request's status: when, by whom ("system" for events), and why."""

    __tablename__ = "advancement_request_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("advancement_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)


class AnalyticsSnapshot(Base):
    """HR's analytics figures as last computed (see analytics.py): the page reads them, the worker refreshes them."""

    __tablename__ = "analytics_snapshots"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    figures: Mapped[dict] = mapped_column(JSON)
