"""Validation during the sampling pass: how many documents fail the declared schema, and why.

It runs beside shape inference on the same stream (the one pass over the documents), and keeps
counts and one example `_id` per failing rule, never the documents or their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bson import ObjectId

from nosql_advisor.redact import sensitive_kinds
from nosql_advisor.schema.dialect import validator_for
from nosql_advisor.schema.load import DeclaredSchema

TOP_RULES = 10


@dataclass
class FailingRule:
    path: str  # dot path of the failing value, arrays transparent ("" = the document)
    keyword: str  # the $jsonSchema keyword that failed (bsonType, required, maximum...)
    count: int
    example_id: str | None  # _id of one failing document, as text
    detail: str = ""  # the first failure's message, without values when it names them


@dataclass
class ValidationResult:
    origin: str
    checked: int
    failed: int
    top_rules: list[FailingRule] = field(default_factory=list)

    @property
    def share(self) -> float:
        return round(self.failed / self.checked, 6) if self.checked else 0.0


class ValidationTally:
    """Feed documents with `add`; `result()` gives the counts."""

    def __init__(self, declared: DeclaredSchema) -> None:
        self.origin = declared.origin
        self.validator = validator_for(declared.schema or {})
        self.checked = 0
        self.failed = 0
        self.rules: dict[tuple[str, str], FailingRule] = {}

    def add(self, document: dict) -> None:
        self.checked += 1
        errors = list(self.validator.iter_errors(document))
        if not errors:
            return
        self.failed += 1
        for error in errors:
            for leaf in _leaves(error):
                self._count(leaf, document.get("_id"))

    def _count(self, error, _id) -> None:
        path = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}" if path else missing
        key = (path, str(error.validator))
        rule = self.rules.get(key)
        if rule is None:
            self.rules[key] = FailingRule(path, str(error.validator), 1, _id_text(_id), _detail(error))
        else:
            rule.count += 1

    def __getstate__(self) -> dict:
        """Counts only: a worker sends its tally back without the (unpicklable) validator."""
        return {**self.__dict__, "validator": None}

    def merge(self, other: ValidationTally) -> None:
        """Fold in a tally of another part of the same collection (a worker process)."""
        self.checked += other.checked
        self.failed += other.failed
        for key, rule in other.rules.items():
            mine = self.rules.get(key)
            if mine is None:
                self.rules[key] = rule
            else:
                mine.count += rule.count

    def result(self) -> ValidationResult:
        ranked = sorted(self.rules.values(), key=lambda r: (-r.count, r.path, r.keyword))
        return ValidationResult(self.origin, self.checked, self.failed, ranked[:TOP_RULES])


def _leaves(error):
    """anyOf/oneOf failures hold their reasons in `context`; report those, they say more."""
    if error.context:
        for child in error.context:
            yield from _leaves(child)
    else:
        yield error


def _id_text(_id) -> str | None:
    if _id is None:
        return None
    text = str(_id) if isinstance(_id, (ObjectId, str, int)) else repr(_id)[:64]
    kinds = sensitive_kinds([text]) if type(_id) is str else []
    return f"(an _id recognised as {kinds[0].replace('_', ' ')}, not shown)" if kinds else text


def _detail(error) -> str:
    """What failed, said without the document's value (values never reach a report)."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "bsonType":
        return error.message  # "bsonType is string, expected date": types, not values
    if keyword == "required":
        return "required field missing"
    return f"{keyword} {expected!r} not satisfied"
