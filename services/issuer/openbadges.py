"""Open Badges 3.0: the OpenBadgeCredential of an issued credential, and its VC-JWT.

Follows the normative text and JSON schema of OB 3.0 (W3C VC 2.0 data model): issuer profile,
validity window, the achievement with its criteria, image, skill alignments and result
description, a recipient identified by a salted SHA-256 hash of their email, the result, the
evidence and the revocation entry in a Bitstring Status List.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from services.issuer.models import Achievement, Credential
from services.issuer.rules import PASS_FAIL, RUBRIC, describe, outcome_text
from services.issuer.signing import SigningKeys

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
# OB 3.0's AlignmentTargetType has no skill-framework entries; `ext:` names extend it.
ALIGNMENT_TARGET_TYPES = {"ESCO": "ext:ESCOSkill", "O*NET": "ext:ONETSkill"}


@dataclass(frozen=True)
class IssuerProfile:
    """Who issues: the company's academy, published at `url` and identified by its did:web."""

    did: str
    url: str
    name: str
    email: str | None = None

    def credential_url(self, credential_id: str) -> str:
        return f"{self.url}/credentials/{credential_id}"

    def status_list_url(self, number: int) -> str:
        return f"{self.url}/status/{number}"

    def as_profile(self) -> dict:
        profile = {"id": self.did, "type": ["Profile"], "name": self.name, "url": self.url}
        return profile | ({"email": self.email} if self.email else {})


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(identity: str, salt: str) -> str:
    """OB 3.0's hashed identity: `sha256$` and the hex digest of the identity followed by the salt."""
    return "sha256$" + hashlib.sha256((identity + salt).encode()).hexdigest()


def build_credential(
    credential: Credential, achievement: Achievement, issuer: IssuerProfile, *, completed_at: datetime, evidence: list[dict] | None = None,
    outcome: dict | None = None,
) -> dict:
    """The unsigned OpenBadgeCredential document; `evidence` replaces the assessment attempt's (a manual award).

    `outcome` is the result it was issued for (an assessment.completed event's data: passed,
    rubric_level, an assessor's evidence links); without it, the credential's score.
    """
    outcome = outcome or {"score": credential.score}
    achievement_url = f"{issuer.url}/achievements/{achievement.id}/v{achievement.version}"
    result_description = f"{achievement_url}#score" if achievement.threshold not in (PASS_FAIL, RUBRIC) else f"{achievement_url}#result"
    score_rule = describe(achievement)
    identity, identity_type = (credential.email, "emailAddress") if credential.email else (credential.employee_id, "sourcedId")
    document = {
        "@context": CONTEXT,
        "id": issuer.credential_url(credential.id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement.name,
        "issuer": issuer.as_profile(),
        "validFrom": timestamp(credential.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": identity_type,
                    "hashed": True,
                    "identityHash": identity_hash(identity, credential.recipient_salt),
                    "salt": credential.recipient_salt,
                }
            ],
            "achievement": {
                "id": achievement_url,
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": achievement.name,
                "description": achievement.description,
                "criteria": {"narrative": achievement.criteria_narrative or score_rule},
                "image": {"id": f"{issuer.url}{achievement.image_path}", "type": "Image", "caption": achievement.name},
                "resultDescription": [describe_result(achievement, result_description)],
            },
        },
        "evidence": evidence if evidence is not None else assessment_evidence(achievement, credential, completed_at, outcome),
        "credentialStatus": {
            "id": f"{issuer.status_list_url(credential.status_list)}#{credential.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(credential.status_index),
            "statusListCredential": issuer.status_list_url(credential.status_list),
        },
        "credentialSchema": [{"id": SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if result := result_of(achievement, result_description, outcome):  # a manual award has none to state
        document["credentialSubject"]["result"] = [result]
    if achievement.skills:
        document["credentialSubject"]["achievement"]["alignment"] = [alignment(skill) for skill in achievement.skills]
    if credential.valid_until is not None:
        document["validUntil"] = timestamp(credential.valid_until)
    return document


def describe_result(achievement: Achievement, description_id: str) -> dict:
    """The ResultDescription of the achievement's rule: a percent, a pass, or a level of its rubric."""
    described = {"id": description_id, "type": ["ResultDescription"]}
    if achievement.threshold == PASS_FAIL:
        return described | {"name": "Assessment outcome", "resultType": "Status", "requiredValue": "Passed"}
    if achievement.threshold == RUBRIC:
        levels = [
            {"id": _level_id(description_id, index), "type": ["RubricCriterionLevel"], "name": level}
            for index, level in enumerate(achievement.rubric_levels)
        ]
        required = _level_id(description_id, achievement.rubric_levels.index(achievement.min_rubric_level))
        return described | {"name": "Rubric level", "resultType": "RubricCriterionLevel", "rubricCriterionLevel": levels, "requiredLevel": required}
    return described | {"name": "Assessment score", "resultType": "Percent", "requiredValue": f"{achievement.min_score:g}"}


def result_of(achievement: Achievement, description_id: str, outcome: dict) -> dict | None:
    """The Result the recipient reached under the rule; None when the outcome states none."""
    result = {"type": ["Result"], "resultDescription": description_id}
    if achievement.threshold == PASS_FAIL and outcome.get("passed") is not None:
        return result | {"status": "Completed", "value": "Passed" if outcome["passed"] else "Failed"}
    if achievement.threshold == RUBRIC and outcome.get("rubric_level") in achievement.rubric_levels:
        return result | {"achievedLevel": _level_id(description_id, achievement.rubric_levels.index(outcome["rubric_level"]))}
    if achievement.threshold not in (PASS_FAIL, RUBRIC) and outcome.get("score") is not None:
        return result | {"value": f"{outcome['score']:g}"}
    return None


def _level_id(description_id: str, index: int) -> str:
    return f"{description_id}-level-{index + 1}"


def assessment_evidence(achievement: Achievement, credential: Credential, completed_at: datetime, outcome: dict) -> list[dict]:
    """The attempt as evidence, and each link an assessor reviewed, with who reviewed it."""
    reviewer = f" Reviewed by assessor {outcome['assessor_id']}." if outcome.get("assessor_id") else ""
    attempt = {
        "type": ["Evidence"],
        "name": f"Assessment {achievement.assessment_id}",
        "narrative": f"Attempt {credential.attempt_id}, completed {timestamp(completed_at)}, {outcome_text(outcome)}.{reviewer}",
    }
    links = [
        {
            "id": link["url"],
            "type": ["Evidence"],
            "name": link["name"],
            "narrative": f"Reviewed by assessor {outcome.get('assessor_id')} for assessment {achievement.assessment_id} "
            f"on {completed_at.date().isoformat()}: {outcome_text(outcome)}.",
        }
        for link in outcome.get("evidence") or ()
    ]
    return [attempt, *links]


def alignment(skill: dict) -> dict:
    """An OB 3.0 Alignment to a skill of a public framework (extension target types, as the schema allows)."""
    return {
        "type": ["Alignment"],
        "targetName": skill["name"],
        "targetUrl": skill["url"],
        "targetCode": skill["code"],
        "targetFramework": skill["framework"],
        "targetType": ALIGNMENT_TARGET_TYPES.get(skill["framework"], "ext:Skill"),
    }


def sign_credential(document: dict, keys: SigningKeys) -> str:
    """The VC-JWT: the credential as payload, with the registered claims VC-JWT asks for."""
    claims = dict(document)
    claims |= {
        "iss": document["issuer"]["id"],
        "jti": document["id"],
        "sub": document["credentialSubject"]["identifier"][0]["identityHash"],
        "nbf": int(datetime.fromisoformat(document["validFrom"]).timestamp()),
    }
    if "validUntil" in document:
        claims["exp"] = int(datetime.fromisoformat(document["validUntil"]).timestamp())
    return keys.sign(claims)
