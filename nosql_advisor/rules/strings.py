"""DM506: typed values stored as strings: dates, numbers, booleans and ObjectIds held as text.

A date as "03/01/2025" sorts by month before year, "10" sorts before "9", `{$gt: "2025-01-01"}`
compares text, and `customer_id: "65f1..."` never equals the ObjectId `_id` it names. The shape's
typed-form counters (shape/detect.py FORMS, over a field's examined distinct strings) say which
form nearly all of a field's strings take; values are never looked at here, and none reaches a
finding: the form is named by its pattern ("YYYY-MM-DD"), not by an example value.

What is rightly a string is left alone: digits with a leading zero (a zip code, an account code)
make a field's numbers codes, and so do digits of one fixed length (phones, SSNs, EANs, years)
unless the name says a quantity (price, amount, total...); fields named as codes or identifiers
(telephone, msisdn, pincode, order, birth_year, version, `*_id`, Twitter's `id_str`...) are not
numbers whatever their digits; and a short list of
integers (weather codes "0" to "9") is an enum, not a quantity. Anything else kept as text by
design is silenced with an `ignore` entry in the config (see the rule page).
"""

from __future__ import annotations

import re

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register

# form -> (what it is, its pattern in words, the BSON type it should be, severity)
FORMS = {
    "date_iso": ("ISO-8601 dates", "YYYY-MM-DD", "date", "low"),
    "datetime_iso": ("ISO-8601 date-times", "YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]", "date", "low"),
    "date_slashed": ("day/month/year or month/day/year dates", "NN/NN/YYYY", "date", "medium"),
    "date_rfc2822": ("RFC 2822 dates", "[Day, ]DD Mon YYYY hh:mm[:ss] ±hhmm", "date", "medium"),
    "date_ctime": ("ctime-style dates", "Day Mon DD hh:mm:ss [±hhmm] YYYY", "date", "medium"),
    "number": ("numbers", "decimal or scientific notation (12.50, 1e3)", "int, long, double or decimal", "medium"),
    "boolean": ("booleans", "true/false or yes/no", "bool", "low"),
    "objectid": ("ObjectIds", "24 hexadecimal digits", "objectId", "medium"),
}
WHY = {
    "date": "range queries and sorts compare them as text, date operators ($dateTrunc, TTL indexes) do not apply",
    "int, long, double or decimal": "they sort and compare as text (\"10\" < \"9\"), $sum and $avg skip them",
    "bool": "a filter on true/false misses them, and every reader must parse them",
    "objectId": "an equality or $lookup against ObjectId _ids never matches them, and they take twice the space",
}
# names of fields whose digits are codes or identifiers, not quantities: never reported as
# numbers. The name is split into lower-cased parts (snake_case and camelCase; trailing digits
# dropped: `ean13`), and a part is a code when it contains a code word (`telephone`, `msisdn`,
# `birth_year`, `orderNumber`), starts with a short one (`pincode`, `tel`: not `shipping`,
# `hotel`, `mean`), or is an identifier's part (`user_id`, `id_str`, `order_no`)
CODE_WORDS = ("zip", "postal", "postcode", "phone", "msisdn", "mobile", "fax", "isbn", "gtin", "sku", "iban", "account",
              "routing", "order", "build", "version", "year", "code", "number", "uuid", "guid")
CODE_PREFIXES = ("tel", "pin", "ean", "upc", "ssn", "npi")
CODE_PARTS = frozenset({"id", "ids", "key", "ref", "no", "num", "nr", "str", "ver"})
# a part naming a quantity wins over a code word (`order_total`, `years_active`), not over an
# identifier's part (`price_id` names a price)
QUANTITY_PARTS = frozenset({
    "price", "amount", "total", "subtotal", "qty", "quantity", "lat", "latitude", "lng", "lon", "longitude", "cost",
    "weight", "balance", "tax", "fee", "discount", "count", "sum", "mean", "avg", "average", "score", "rate", "ratio",
    "percent", "pct", "height", "width", "length", "size", "depth", "distance", "duration", "salary", "income",
    "revenue", "value", "age", "years", "months", "days", "hours", "minutes", "seconds", "ms", "bytes", "stock"})
NAME_PARTS = re.compile(r"[A-Z]?[a-z]+\d*|[A-Z]+\d*(?![a-z])|\d+")
# every numeric string one length of digits (a phone, an SSN, an EAN, a PIN, a year): a code
FIXED_LENGTH_SHARE = 0.98


def typed_strings(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for collection in landscape.collections:
        for field in collection.shape.fields:
            found = dominant_form(field, thresholds)
            if found is not None:
                findings.append(_finding(collection.info.namespace, field, *found))
    return findings


def dominant_form(field, thresholds: dict) -> tuple[str, int] | None:
    """The typed form at least `min_share` of a string field's examined values take, with how
    many took it; None when there is none, too few values, or the field's digits are codes."""
    detected, examined = field.detected or {}, field.examined or 0
    if not examined or not field.types.get("string"):
        return None
    for form in FORMS:
        matched = detected.get(form, 0)
        if not matched or matched / examined < thresholds["min_share"]:
            continue
        if form != "boolean" and examined < thresholds["min_distinct"]:
            return None  # a handful of values is no pattern (booleans have two by nature)
        if form == "boolean" and examined < 2:
            return None
        if form == "number" and not _quantities(field, detected, thresholds):
            return None
        return form, matched
    return None


def _quantities(field, detected: dict, thresholds: dict) -> bool:
    """Whether a field's numeric strings are quantities: not codes (a leading zero anywhere, a
    code or identifier name, digits of one fixed length unless the name says a quantity) and not
    a short code list (weather codes "0" to "9": an enum)."""
    if detected.get("leading_zero"):
        return False
    named = name_kind(field.path.rsplit(".", 1)[-1])
    if named == "code" or (named is None and _fixed_length(detected)):
        return False
    return field.examined >= thresholds["min_distinct_numbers"]


def name_kind(name: str) -> str | None:
    """"code" when a part of the name is an identifier's, "quantity" when one says a quantity
    (price, amount, total...), "code" when one holds a code word (phone, ssn, order, year...),
    else None."""
    words = [part.lower().rstrip("0123456789") for part in NAME_PARTS.findall(name)]
    if any(word in CODE_PARTS for word in words):
        return "code"
    if any(word in QUANTITY_PARTS for word in words):
        return "quantity"
    if any(word.startswith(CODE_PREFIXES) or any(code in word for code in CODE_WORDS) for word in words):
        return "code"
    return None


def _fixed_length(detected: dict) -> bool:
    """Whether (nearly) every numeric string is digits of one length: a code's mark."""
    numbers = detected.get("number", 0)
    longest = max((n for form, n in detected.items() if form.startswith("digits_")), default=0)
    return bool(numbers) and longest / numbers >= FIXED_LENGTH_SHARE


def _finding(namespace: str, field, form: str, matched: int) -> Finding:
    what, pattern, bson_type, severity = FORMS[form]
    share = matched / field.examined
    strings = field.types.get("string", 0)
    return Finding(
        "DM506", severity, namespace, field.path,
        f"'{field.path}' holds {what} as strings ({share:.0%} of {field.examined:,} distinct values examined "
        f"are {pattern}): {WHY[bson_type]}.",
        {"form": form, "pattern": pattern, "matched": matched, "examined": field.examined,
         "share": round(share, 4), "string_values": strings, "count": field.count, "should_be": bson_type},
        f"Store '{field.path}' as {bson_type}: convert the existing documents with an update pipeline "
        f"({_conversion(bson_type)}), write it typed from the application, and declare bsonType "
        f"'{bson_type.split(',')[0]}' in the validator. If the text is meant (an identifier kept as text), "
        "add an `ignore` entry for DM506 and this path in the config.")


def _conversion(bson_type: str) -> str:
    return {"date": "$dateFromString / $toDate", "objectId": "$toObjectId", "bool": "$eq against 'true'/'yes'"}.get(
        bson_type, "$toDecimal, $toDouble or $toLong")


register(Rule("DM506", "typed values stored as strings (dates, numbers, booleans, ObjectIds)", "medium",
              "typed values", typed_strings, {"min_share": 0.9, "min_distinct": 5, "min_distinct_numbers": 20}))
