"""Which inference engine builds the shapes: the native core when it was built, else Python.

The pure-Python `infer.ShapeBuilder` is the reference; `native.NativeShapeBuilder` (the C core in
nosql_advisor/native/, built by `pip install` when a compiler is there) gives the same shapes
faster. One interface, so nothing outside shape/ knows which one runs. NOSQL_ADVISOR_ENGINE=python
forces the reference (for tests and bug reports); =native insists on the core (an error when it is
not built, so a CI job cannot silently test the fallback alone).
"""

from __future__ import annotations

import os

from nosql_advisor.errors import AdvisorError
from nosql_advisor.shape.infer import DEFAULT_MAX_PATHS, ShapeBuilder
from nosql_advisor.shape.rows import DEFAULT_ROWS

ENGINE_VARIABLE = "NOSQL_ADVISOR_ENGINE"
ENGINES = ("native", "python")


def native_available() -> bool:
    try:
        from nosql_advisor.shape import native  # noqa: F401  (imports the C extension)
    except ImportError:
        return False
    return True


def engine_name() -> str:
    """"native" or "python": the engine `new_builder` gives, as the environment asks."""
    wanted = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    if wanted not in ("", *ENGINES):
        raise AdvisorError(f"{ENGINE_VARIABLE}={wanted!r}: expected one of {', '.join(ENGINES)}")
    if wanted == "python":
        return "python"
    if native_available():
        return "native"
    if wanted == "native":
        raise AdvisorError(f"{ENGINE_VARIABLE}=native, but the native core (nosql_advisor._shapecore) "
                           "is not built: reinstall with a C compiler and Python's headers present")
    return "python"


def new_builder(namespace: str = "", max_paths: int = DEFAULT_MAX_PATHS, enum_limit: int = 0,
                count_values: frozenset[str] = frozenset(), rows: int = DEFAULT_ROWS) -> ShapeBuilder:
    """A ShapeBuilder of the engine in use (same arguments, same methods, same shapes)."""
    if engine_name() == "native":
        from nosql_advisor.shape.native import NativeShapeBuilder

        return NativeShapeBuilder(namespace, max_paths, enum_limit, count_values, rows)
    return ShapeBuilder(namespace, max_paths, enum_limit, count_values, rows)
