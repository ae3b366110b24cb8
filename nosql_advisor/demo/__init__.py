"""The demo database `shop`: multi-tenant e-commerce with planted modelling problems."""

from nosql_advisor.demo.generate import Demo, DemoCollection, PlantedProblem, build_demo
from nosql_advisor.demo.write import load_live, write_dump, write_export, write_schema_files

__all__ = ["Demo", "DemoCollection", "PlantedProblem", "build_demo", "load_live", "write_dump",
           "write_export", "write_schema_files"]
