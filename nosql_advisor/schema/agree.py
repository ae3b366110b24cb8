"""Where a schema file and the server's validator for the same collection disagree."""

from __future__ import annotations

from nosql_advisor.schema.drift import _declared_paths, declared_at


def disagreements(file_schema: dict, server_schema: dict) -> list[str]:
    """One sentence per difference in declared paths, bsonTypes and required fields."""
    said = []
    file_paths, server_paths = set(_declared_paths(file_schema)), set(_declared_paths(server_schema))
    said += [f"'{p}' is declared in the file only" for p in sorted(file_paths - server_paths)]
    said += [f"'{p}' is declared on the server only" for p in sorted(server_paths - file_paths)]
    for path in sorted(file_paths & server_paths):
        ours, theirs = declared_at(file_schema, path), declared_at(server_schema, path)
        if isinstance(ours, dict) and isinstance(theirs, dict) and _types(ours) != _types(theirs):
            said.append(f"'{path}': bsonType {_types(ours)} in the file, {_types(theirs)} on the server")
    for parent in [""] + sorted(file_paths & server_paths):
        ours, theirs = _required(file_schema, parent), _required(server_schema, parent)
        if ours != theirs:
            where = f"under '{parent}'" if parent else "at the top level"
            said.append(f"required {where}: {sorted(ours)} in the file, {sorted(theirs)} on the server")
    return said


def _types(schema: dict) -> list[str]:
    value = schema.get("bsonType", schema.get("type", []))
    return sorted(value) if isinstance(value, list) else [value]


def _required(schema: dict, parent: str) -> set[str]:
    node = schema if not parent else declared_at(schema, parent)
    if not isinstance(node, dict):
        return set()
    holder = node if "properties" in node or "required" in node else node.get("items") or {}
    return set(holder.get("required") or []) if isinstance(holder, dict) else set()
