"""The tables of docs/demo.md, made from the demo itself so the page cannot drift from it.

    python -m nosql_advisor.demo.docs      # prints the tables for seed 42, scale 1.0
"""

from __future__ import annotations

from nosql_advisor.demo.generate import build_demo
from nosql_advisor.demo.model import Demo


def collections_table(demo: Demo) -> str:
    rows = ["| collection | documents | validator | indexes (besides `_id_`) |", "|---|---:|---|---|"]
    for collection in demo.collections:
        options = collection.options
        validation = (f"{options['validationLevel']} / {options['validationAction']}"
                      if options.get("validator") else "none")
        indexes = ", ".join(f"`{index['name']}`" for index in collection.indexes) or "none"
        rows.append(f"| `{collection.name}` | {len(collection.documents):,} | {validation} | {indexes} |")
    return "\n".join(rows)


def planted_table(demo: Demo) -> str:
    rows = ["| rule | namespace | path | what was planted |", "|---|---|---|---|"]
    for problem in demo.planted:
        path = f"`{problem.path}`" if problem.path else "-"
        rows.append(f"| {problem.rule} | `{problem.namespace}` | {path} | {problem.note} |")
    return "\n".join(rows)


def main() -> None:
    demo = build_demo()
    print(collections_table(demo), planted_table(demo), sep="\n\n")


if __name__ == "__main__":
    main()
