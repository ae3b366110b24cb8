"""The declared $jsonSchemas of the demo collections: installed as validators by the loaders
and written to schemas/shop/ (one definition, so the two cannot drift apart)."""

from __future__ import annotations

AUDIT = {"created_at": {"bsonType": "date"}, "updated_at": {"bsonType": "date"}}
TENANT = {"tenant_id": {"bsonType": "string", "description": "tenant key: every query filters on it"}}


def strict(required: list[str], properties: dict, closed: bool = True) -> dict:
    schema = {"bsonType": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


INVOICES = strict(
    ["_id", "tenant_id", "number", "order_id", "amount", "currency", "status", "lines", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "number": {"bsonType": "string", "pattern": "^INV-[0-9]{6,}$"},
     "order_id": {"bsonType": "objectId", "description": "reference to shop.orders._id"},
     "amount": {"bsonType": "decimal", "minimum": 0},
     "currency": {"enum": ["EUR", "USD", "GBP"]},
     "status": {"enum": ["open", "paid", "void"]},
     "lines": {"bsonType": "array", "minItems": 1, "maxItems": 10, "items": strict(
         ["line_no", "label", "qty", "amount"],
         {"line_no": {"bsonType": "int", "minimum": 1}, "label": {"bsonType": "string", "maxLength": 40},
          "qty": {"bsonType": "int", "minimum": 1}, "amount": {"bsonType": "decimal"}})},
     **AUDIT})

SHIPMENTS = strict(
    ["_id", "tenant_id", "invoice_id", "carrier", "tracking_code", "status", "parcels", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "invoice_id": {"bsonType": "objectId", "description": "reference to shop.invoices._id"},
     "carrier": {"enum": ["DHL", "UPS", "GLS", "PostNL"]},
     "tracking_code": {"bsonType": "string", "pattern": "^TRK[0-9]{10}$"},
     "status": {"enum": ["label", "in_transit", "delivered"]},
     "parcels": {"bsonType": "array", "minItems": 1, "maxItems": 4, "items": strict(
         ["weight_grams", "size"],
         {"weight_grams": {"bsonType": "int", "minimum": 1},
          "size": {"enum": ["S", "M", "L", "XL"]}})},
     **AUDIT})

CATEGORIES = strict(
    ["_id", "tenant_id", "code", "title", "parent_id", "position", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "code": {"bsonType": "string", "pattern": "^CAT-[0-9]{4,}$"},
     "title": {"bsonType": "string", "maxLength": 40},
     "parent_id": {"bsonType": ["objectId", "null"], "description": "reference to shop.categories._id"},
     "position": {"bsonType": "int", "minimum": 0},
     **AUDIT})

CUSTOMERS = strict(
    ["_id", "tenant_id", "name", "email", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "name": {"bsonType": "string"}, "email": {"bsonType": "string"},
     "phone": {"bsonType": "string"}, "date_of_birth": {"bsonType": "date"},
     "card_number": {"bsonType": "string"}, "iban": {"bsonType": "string"},
     "address": {"bsonType": "object"},
     "order_ids": {"bsonType": "array", "items": {"bsonType": "objectId"}},
     "deleted_at": {"bsonType": ["date", "null"]},
     **AUDIT}, closed=False)

PRODUCTS = strict(
    ["_id", "tenant_id", "sku", "name", "price", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "sku": {"bsonType": "string"}, "name": {"bsonType": "string"},
     "price": {"bsonType": "decimal", "minimum": 0},
     "reviews": {"bsonType": "array", "items": {"bsonType": "object"}},
     "daily_views": {"bsonType": "object"},
     **AUDIT}, closed=False)

ORDERS = strict(
    ["_id", "tenant_id", "customer_id", "customer", "items", "status", "total", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "customer_id": {"bsonType": "objectId"},
     "customer": {"bsonType": "object", "properties": {
         "name": {"bsonType": "string"}, "email": {"bsonType": "string"}}},
     "items": {"bsonType": "array", "maxItems": 50, "items": {"bsonType": "object", "properties": {
         "sku": {"bsonType": "string"}, "qty": {"bsonType": "int"}, "price": {"bsonType": "decimal"}}}},
     "status": {"enum": ["new", "paid", "shipped", "cancelled"]},
     "total": {"bsonType": "decimal"},
     **AUDIT}, closed=False)

REVIEWS = strict(
    ["_id", "tenant_id", "product_id", "product_name", "rating", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "product_id": {"bsonType": "objectId"},
     "product_name": {"bsonType": "string",
                      "description": "copy for display; source of truth: shop.products.name"},
     "rating": {"bsonType": "int", "minimum": 1, "maximum": 5},
     "text": {"bsonType": "string"},
     **AUDIT}, closed=False)

CARTS = strict(
    ["_id", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "customer_id": {"bsonType": "objectId"},
     "lines": {"bsonType": "array", "maxItems": 30},
     **AUDIT}, closed=False)
