"""Declared schemas: from a schema folder, from live validators, from mongodump metadata.

A schema file `DIR/<db>/<collection>.json` may hold a bare `$jsonSchema` object, an object
`{"$jsonSchema": ...}`, or a whole validator document (`{"validator": {...},
"validationLevel": ..., "validationAction": ...}`). A server validator may mix `$jsonSchema`
with query operators (`$expr`, `$or`...): those parts are kept as "not comparable" and said so,
never silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nosql_advisor.errors import InputError, Problem
from nosql_advisor.schema.dialect import check_schema


class SchemaFileError(InputError):
    """A schema file mongod would refuse, or that is not JSON: where (file#pointer) and why."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where, self.detail = where, detail


@dataclass
class DeclaredSchema:
    namespace: str
    schema: dict | None  # the $jsonSchema, None when the validator has none
    origin: str  # file path, or "server validator" / "dump metadata"
    validation_level: str = "strict"
    validation_action: str = "error"
    not_comparable: list[str] = field(default_factory=list)  # validator parts besides $jsonSchema
    file: Path | None = None


def split_validator(validator: dict) -> tuple[dict | None, list[str]]:
    """The $jsonSchema of a validator document, and the query-operator parts beside it."""
    if "$jsonSchema" in validator:
        rest = [key for key in validator if key != "$jsonSchema"]
        return validator["$jsonSchema"], rest
    if list(validator) == ["$and"] and isinstance(validator["$and"], list):
        schemas = [part["$jsonSchema"] for part in validator["$and"] if isinstance(part, dict) and "$jsonSchema" in part]
        rest = [json.dumps(part, default=str)[:80] for part in validator["$and"] if part.get("$jsonSchema") is None]
        if len(schemas) == 1:
            return schemas[0], rest
    return None, list(validator)


def declared_from_options(namespace: str, options: dict, origin: str) -> DeclaredSchema | None:
    """The validator a server (or a dump's metadata) holds for a collection, if any."""
    validator = options.get("validator")
    if not validator:
        return None
    schema, rest = split_validator(dict(validator))
    return DeclaredSchema(namespace, schema, origin, options.get("validationLevel", "strict"),
                          options.get("validationAction", "error"), rest)


def load_schema_file(path: Path, namespace: str) -> DeclaredSchema:
    """Read and check one schema file; raises InputError naming the file and JSON pointer."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SchemaFileError(f"{path}:{error.lineno}", f"not JSON ({error.msg})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaFileError(str(path), f"cannot read ({error})") from None
    if not isinstance(data, dict):
        raise SchemaFileError(str(path), f"expected a JSON object, found {type(data).__name__}")
    level, action = data.get("validationLevel", "strict"), data.get("validationAction", "error")
    validator = data.get("validator", data)
    schema, rest = split_validator(validator) if "$jsonSchema" in validator or "$and" in validator else (validator, [])
    if schema is not None:
        issues = check_schema(schema)
        if issues:
            first = issues[0]
            more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
            raise SchemaFileError(f"{path}#{first.pointer}", f"{first.message}{more}")
    return DeclaredSchema(namespace, schema, str(path), level, action, rest, path)


def load_schema_dir(folder: Path, problems: list[Problem]) -> dict[str, DeclaredSchema]:
    """Every `<db>/<collection>.json` under `folder`; a bad file is a problem, the others load."""
    if not folder.is_dir():
        raise InputError(f"{folder}: schema folder not found")
    declared = {}
    for path in sorted(folder.glob("*/*.json")):
        namespace = f"{path.parent.name}.{path.name[:-len('.json')]}"
        try:
            declared[namespace] = load_schema_file(path, namespace)
        except SchemaFileError as error:
            problems.append(Problem(error.where, f"{error.detail}; this schema is not compared"))
    return declared


def load_declared(folder: Path | None, keep_going: bool) -> tuple[dict[str, DeclaredSchema], list[Problem]]:
    """The schema folder's schemas. A bad file stops the run (exit 2) unless `keep_going`, when
    it becomes a problem and the other collections are still compared."""
    if folder is None:
        return {}, []
    problems: list[Problem] = []
    declared = load_schema_dir(folder, problems)
    if problems and not keep_going:
        first = problems[0]
        raise InputError(f"{first.where}: {first.message.removesuffix('; this schema is not compared')}"
                         + (f" (and {len(problems) - 1} more bad schema files)" if len(problems) > 1 else "")
                         + "; --keep-going compares the other collections anyway")
    return declared, problems
