"""Value detectors for personal data and secrets.

They run once per path, at the end, on the distinct strings the path's sketch holds: all of
them up to 512, else a uniform sample of 512 chosen by hash (the same whatever the order of the
documents). Only detector names and counts reach the shape, never a value.
"""

from __future__ import annotations

import re
from collections import Counter

PATTERNS = {
    "email": re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$"),
    "phone": re.compile(r"^(?=(?:\D*\d){9,15}\D*$)(?=.*[\s().+-])\+?[\d\s().x.-]{9,25}$"),
    "ip_address": re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$"),
    "us_ssn": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "jwt": re.compile(r"^eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]+$"),
    "api_key": re.compile(r"^(?:(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{10,}|ghp_[0-9A-Za-z]{30,}|xox[abprs]-[0-9A-Za-z-]{10,}"
                          r"|AIza[0-9A-Za-z_-]{35})$"),
    "aws_access_key": re.compile(r"^(?:AKIA|ASIA)[0-9A-Z]{16}$"),
    "private_key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "password_hash": re.compile(r"^(?:\$2[abxy]?\$\d\d\$|\$argon2(?:id|i|d)\$|\$scrypt\$|\$7\$|\$pbkdf2|pbkdf2_sha|\$6\$|\$5\$)"),
}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")  # "blue-widget-42": a name made into a key
WORD = re.compile(r"[a-z]{2}")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CARD = re.compile(r"^(?:\d[ -]?){12,18}\d$")
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    moved = text[4:] + text[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def is_slug(value: str) -> bool:
    """Words joined by hyphens, two of them at least: not a code (`t-0001`), a date or a UUID."""
    if not SLUG.match(value) or UUID.match(value):
        return False
    return sum(bool(WORD.search(part)) for part in value.split("-")) >= 2


def detect(values: list[str]) -> Counter:
    """How many of `values` each detector recognises."""
    found: Counter = Counter()
    for value in values:
        if len(value) > 4096:
            if PATTERNS["private_key"].search(value):
                found["private_key"] += 1
            continue
        matched = [name for name, pattern in PATTERNS.items()
                   if (pattern.search(value) if name == "private_key" else pattern.match(value))]
        if "phone" in matched and ("ip_address" in matched or "us_ssn" in matched):
            matched.remove("phone")  # dotted quads and SSNs are digit groups too
        found.update(matched)
        if is_slug(value):
            found["slug"] += 1
        compact = value.replace(" ", "").replace("-", "")
        if CARD.match(value) and 13 <= len(compact) <= 19 and luhn(compact):
            found["card_number"] += 1
        if IBAN.match(compact) and iban_valid(compact):
            found["iban"] += 1
    return found
