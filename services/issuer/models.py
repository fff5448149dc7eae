"""The issuer's tables: achievements (credential definitions) and their versions, assessment attempts, credentials."""

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Achievement(Base):
    """An internal credential HR defined: what it certifies and the rule that issues it."""

    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20), default="technical")
    assessment_id: Mapped[str] = mapped_column(String(200), index=True)
    min_score: Mapped[float] = mapped_column(Float)
    validity_months: Mapped[int | None] = mapped_column(Integer)
    criteria_narrative: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[list] = mapped_column(JSON, default=list)  # [{framework, url, code, name}]
    level: Mapped[int | None] = mapped_column(Integer)  # 1-5, see catalog.LEVELS
    issuing_unit: Mapped[str | None] = mapped_column(String(200))
    prerequisites: Mapped[list] = mapped_column(JSON, default=list)  # achievement ids
    effort_hours: Mapped[float | None] = mapped_column(Float)
    colour: Mapped[str] = mapped_column(String(7), default="#1f5f8b")
    image_media_type: Mapped[str | None] = mapped_column(String(30))  # None: the generated SVG
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def image_path(self) -> str:
        """Where the public blueprint serves this version's badge image."""
        return f"/achievements/{self.id}/v{self.version}/image"


class AchievementVersion(Base):
    """One version of an achievement's definition, kept for ever: credentials cite their version."""

    __tablename__ = "achievement_versions"

    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    assessment_id: Mapped[str] = mapped_column(String(200))
    min_score: Mapped[float] = mapped_column(Float)
    validity_months: Mapped[int | None] = mapped_column(Integer)
    criteria_narrative: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    level: Mapped[int | None] = mapped_column(Integer)
    issuing_unit: Mapped[str | None] = mapped_column(String(200))
    prerequisites: Mapped[list] = mapped_column(JSON, default=list)
    effort_hours: Mapped[float | None] = mapped_column(Float)
    colour: Mapped[str] = mapped_column(String(7))
    image_media_type: Mapped[str | None] = mapped_column(String(30))
    image: Mapped[bytes | None] = mapped_column(LargeBinary)  # an uploaded PNG or sanitised SVG
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AssessmentAttempt(Base):
    """A completion reported through the intake API, kept so a resubmission is recognised."""

    __tablename__ = "assessment_attempts"

    attempt_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    assessment_id: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event_id: Mapped[str] = mapped_column(String(64))


class Credential(Base):
    """A credential issued to an employee, with the event and rule version that caused it."""

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("attempt_id", "achievement_id", name="uq_credentials_attempt_achievement"),
        Index("ix_credentials_employee_achievement", "employee_id", "achievement_id"),
        UniqueConstraint("status_list", "status_index", name="uq_credentials_status_entry"),
        Index("ix_credentials_valid_until", "valid_until"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"))
    achievement_version: Mapped[int] = mapped_column(Integer)
    attempt_id: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    source_event_id: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    # The Open Badges 3.0 credential and its VC-JWT, signed at issuance with the then-active key.
    # None only for credentials issued before signing existed (migration 0002).
    recipient_salt: Mapped[str | None] = mapped_column(String(64))
    status_list: Mapped[int | None] = mapped_column(Integer)
    status_index: Mapped[int | None] = mapped_column(Integer)
    document: Mapped[str | None] = mapped_column(Text)
    jwt: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=False)  # shared by its holder
    expiring_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expired_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
