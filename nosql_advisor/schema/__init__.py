"""MongoDB's $jsonSchema dialect: check a schema as mongod would, validate BSON values with it."""
