"""Value detectors: personal data and secrets, and typed values held as strings.

They run once per path, at the end, on the distinct strings the path's sketch holds: all of
them up to 512, else a uniform sample of 512 chosen by hash (the same whatever the order of the
documents). Only detector names and counts reach the shape, never a value.

The typed forms (FORMS: a date, a number, a boolean, an ObjectId written as text) say what type
a string really holds, not whether it is secret: `detect(values, forms=True)` adds them (the
shape asks for them; the privacy checks of redact.py do not), so the personal-data and secret
counters keep their names and meaning.
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


def detect(values: list[str], forms: bool = False) -> Counter:
    """How many of `values` each detector recognises (and each typed form, with `forms`)."""
    found: Counter = Counter()
    for value in values:
        if forms:
            found.update(typed_forms(value))
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


# -- typed values held as strings (DM506) -------------------------------------------------------

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
DATE = r"(?:19|20|21)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
FORM_PATTERNS = {
    "date_iso": re.compile(rf"^{DATE}$"),
    "datetime_iso": re.compile(rf"^{DATE}[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{{1,9}})?)?"
                               r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$"),
    "date_slashed": re.compile(r"^(?:0?[1-9]|[12]\d|3[01])[/.](?:0?[1-9]|[12]\d|3[01])[/.](?:19|20|21)\d\d$"),
    "date_rfc2822": re.compile(rf"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(?:0?[1-9]|[12]\d|3[01]) (?:{MONTHS}) "
                               r"(?:19|20|21)\d\d (?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)? (?:[+-]\d{4}|GMT|UT|[ECMP][SD]T)$"),
    # C's ctime/asctime, and Twitter's created_at with its offset: "Sat Apr 25 18:43:04 +0000 2015"
    "date_ctime": re.compile(rf"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:{MONTHS}) [ 0-3]\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                             r"(?: [+-]\d{4})? (?:19|20|21)\d\d$"),
    # a decimal or scientific number; not one with a leading zero ("02134" is a code), nor an
    # integer of more than 15 digits (no double holds it exactly: an identifier)
    "number": re.compile(r"^[+-]?(?:(?:[1-9]\d{0,14}|0)(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d{1,3})?$"),
    "boolean": re.compile(r"^(?:true|false|yes|no)$", re.I),
    "objectid": re.compile(r"^[0-9a-fA-F]{24}$"),
}
LEADING_ZERO = re.compile(r"^[+-]?0\d+$")  # "00501", "0123": digits that are a code, not a number
DIGITS = re.compile(r"^\d{1,15}$")  # unsigned digits only: counted by length ("digits_10"), since one
# fixed length over every value is a code's mark (a phone, an SSN, an EAN, a year), not a quantity's
MAX_DIGITS = 15
# the first 4 bytes of an ObjectId are its creation second: 2000-01-01 to 2040-01-01, so a random
# 24-hex token (a hash, a key) matches on about a third of its values, not nearly all
OBJECTID_SECONDS = (946_684_800, 2_208_988_800)
# every name the counters take: what a string's value says of its type, nothing of secrecy
FORMS = frozenset({*FORM_PATTERNS, "leading_zero", *(f"digits_{n}" for n in range(1, MAX_DIGITS + 1))})


def typed_forms(value: str) -> list[str]:
    """The typed forms one string is written in (usually none; a number of digits only also
    counts its length, "digits_4")."""
    if len(value) > 40 or not value:
        return []
    if LEADING_ZERO.match(value):
        return ["leading_zero"]
    for name, pattern in FORM_PATTERNS.items():
        if pattern.match(value) and (name != "objectid" or _objectid_time(value)):
            return [name, f"digits_{len(value)}"] if name == "number" and DIGITS.match(value) else [name]
    return []


def _objectid_time(value: str) -> bool:
    low, high = OBJECTID_SECONDS
    return low <= int(value[:8], 16) < high
