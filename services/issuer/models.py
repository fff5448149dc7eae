"""The issuer's tables: achievements (credential definitions) and their versions, assessment attempts, credentials, people."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
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
    # The issuance rule: see services.issuer.rules. min_score is for `percent` rules only.
    threshold: Mapped[str] = mapped_column(String(20), default="percent")  # percent, pass_fail, rubric
    min_score: Mapped[float | None] = mapped_column(Float)
    rubric_levels: Mapped[list] = mapped_column(JSON, default=list)  # level names, lowest first
    min_rubric_level: Mapped[str | None] = mapped_column(String(100))
    assessor_reviewed: Mapped[bool] = mapped_column(default=False)  # results come from assessors, not the LMS
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
    threshold: Mapped[str] = mapped_column(String(20), default="percent")
    min_score: Mapped[float | None] = mapped_column(Float)
    rubric_levels: Mapped[list] = mapped_column(JSON, default=list)
    min_rubric_level: Mapped[str | None] = mapped_column(String(100))
    assessor_reviewed: Mapped[bool] = mapped_column(default=False)
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
    score: Mapped[float | None] = mapped_column(Float)  # None: a pass/fail or rubric result
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event_id: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool | None] = mapped_column()
    rubric_level: Mapped[str | None] = mapped_column(String(100))
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # [{url, name}]
    assessor_id: Mapped[str | None] = mapped_column(String(200))  # who reviewed it; None from the LMS


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
    score: Mapped[float | None] = mapped_column(Float)  # None: awarded without a scored assessment (bulk issuance)
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


class BulkIssuance(Base):
    """A CSV of awards HR uploaded: validated row by row, then issued in the background once HR starts it."""

    __tablename__ = "bulk_issuances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)  # validating, ready, rejected, issuing, done
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    invalid_rows: Mapped[int] = mapped_column(Integer, default=0)
    warned_rows: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)  # errors and warnings, over all rows
    started_by: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BulkIssuanceRow(Base):
    """One row of a bulk issuance file as uploaded (values cut to their column), its problems and outcome."""

    __tablename__ = "bulk_issuance_rows"
    __table_args__ = (Index("ix_bulk_issuance_rows_outcome", "bulk_issuance_id", "outcome", "row_number"),)

    bulk_issuance_id: Mapped[str] = mapped_column(ForeignKey("bulk_issuances.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # the line a spreadsheet shows
    employee_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    achievement_id: Mapped[str] = mapped_column(String(200))
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    demonstrated_on: Mapped[date | None] = mapped_column(Date)  # None when the date column is invalid
    # [{column, message, severity}]: an error makes the row invalid; a warning does not.
    problems: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    valid: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[str] = mapped_column(String(20))  # pending, invalid, issued, skipped
    credential_id: Mapped[str | None] = mapped_column(String(64))


class Person(Base):
    """Someone in the org directory, as the issuer knows them (projection of `directory.people`)."""

    __tablename__ = "people"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)


class WithheldIssuance(Base):
    """An achievement a completion met the rule of, not issued because prerequisites were not held."""

    __tablename__ = "withheld_issuances"

    attempt_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), primary_key=True)
    achievement_version: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[str] = mapped_column(String(200), index=True)
    missing_prerequisites: Mapped[list] = mapped_column(JSON)  # achievement ids not validly held
    source_event_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
