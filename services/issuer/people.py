"""The people the issuer knows by name: a projection of the org directory (`directory.people`).

The issuer names a holder only on the public page of a credential they chose to share.
"""

from sqlalchemy.orm import Session

from services.issuer.models import Person

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"


def upsert_person(session: Session, data: dict) -> Person:
    """Keep the projection current with a person.upserted event's data (people who leave stay, inactive)."""
    return session.merge(
        Person(employee_id=data["employee_id"], name=data["name"], email=data["email"], active=data["active"])
    )

