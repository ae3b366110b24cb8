"""The demo database `shop`: multi-tenant e-commerce with planted modelling problems.

`build_demo` makes it in memory; the writers put it in a mongodump folder, mongoexport files or a
live server; `server.start_secantus` runs a local MongoDB-wire server to load it into.
"""

from nosql_advisor.demo.generate import Demo, DemoCollection, PlantedProblem, build_demo
from nosql_advisor.demo.write import load_live, write_dump, write_export, write_schema_files

__all__ = ["Demo", "DemoCollection", "PlantedProblem", "build_demo", "load_live", "write_dump",
           "write_export", "write_schema_files"]
