"""Personal data and secrets in clear: DM701 and DM702, from the value detectors' counts and
from field names. Never a value in a finding: the detector, how many matched, of how many."""

from __future__ import annotations

import re

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register

PII = {"card_number": "high", "iban": "high", "us_ssn": "high", "phone": "medium", "email": "low", "ip_address": "low"}
SECRETS = ("private_key", "aws_access_key", "api_key", "jwt")
BIRTH = re.compile(r"^(dob|date_?of_?birth|birth_?date|birthday)$", re.I)
PASSWORD = re.compile(r"^(password|passwd|pwd|pass|secret|client_?secret)$", re.I)
RANK = ("low", "medium", "high", "critical")


def _matches(field, detectors, min_share: float) -> dict[str, int]:
    detected, examined = field.detected or {}, field.examined or 0
    return {name: count for name, count in detected.items()
            if name in detectors and examined and count / examined >= min_share}


def personal_data(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for collection in landscape.collections:
        for field in collection.shape.fields:
            name = field.path.rsplit(".", 1)[-1]
            found = _matches(field, PII, thresholds["min_share"])
            birth = BIRTH.match(name) and ("date" in field.types or "string" in field.types)
            if not found and not birth:
                continue
            kinds = sorted(found) + (["date_of_birth"] if birth else [])
            severity = max([PII[k] for k in found] + (["medium"] if birth else []), key=RANK.index)
            findings.append(Finding(
                "DM701", severity, collection.info.namespace, field.path,
                f"'{field.path}' holds {', '.join(k.replace('_', ' ') for k in kinds)} in clear"
                + (f" ({max(found.values()):,} of {field.examined:,} examined values)" if found else " (by its name)") + ".",
                {"detectors": found, "examined": field.examined, "by_name": bool(birth), "count": field.count},
                "Encrypt it with Queryable Encryption or client-side field level encryption (binData "
                "subtype 6), tokenize it, or stop storing it; restrict who can read the collection."))
    return findings


def secrets(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for collection in landscape.collections:
        for field in collection.shape.fields:
            name = field.path.rsplit(".", 1)[-1]
            found = _matches(field, SECRETS, thresholds["min_share"])
            plain = _plaintext_passwords(field, name, thresholds["min_share"])
            if not found and not plain:
                continue
            kinds = sorted(found) + (["plaintext password"] if plain else [])
            findings.append(Finding(
                "DM702", "critical", collection.info.namespace, field.path,
                f"'{field.path}' holds secrets: {', '.join(k.replace('_', ' ') for k in kinds)}.",
                {"detectors": found, "plaintext_passwords": plain, "examined": field.examined, "count": field.count},
                "Remove them from the database: hash passwords with bcrypt/argon2/scrypt, keep keys in a "
                "secrets manager, rotate every exposed credential."))
    return findings


def _plaintext_passwords(field, name: str, min_share: float) -> int:
    """Strings under a password-like name that are not password hashes."""
    if not PASSWORD.match(name) or not field.examined or "string" not in field.types:
        return 0
    hashed = (field.detected or {}).get("password_hash", 0)
    plain = field.examined - hashed
    return plain if plain / field.examined >= min_share else 0


register(Rule("DM701", "sensitive data stored in clear (PII)", "high", "PII / secrets hygiene", personal_data,
              {"min_share": 0.5}))
register(Rule("DM702", "secrets in data (plaintext passwords, API keys, private keys)", "critical",
              "PII / secrets hygiene", secrets, {"min_share": 0.5}))
