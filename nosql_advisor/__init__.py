"""nosql-advisor: infer the shape of MongoDB collections and advise on the data model."""

__version__ = "0.1.0"
