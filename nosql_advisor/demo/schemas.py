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
     "tier": {"enum": ["bronze", "silver", "gold", "platinum"]},
     "country": {"bsonType": "string", "minLength": 2, "maxLength": 2},
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
         "name": {"bsonType": "string"}, "email": {"bsonType": "string"},
         "tier": {"bsonType": "string"}, "country": {"bsonType": "string"}}},
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

# -- controls added by issue 11: a documented copy, a one-way array reference, GeoJSON, invariants

PAYMENTS = strict(
    ["_id", "tenant_id", "invoice_id", "currency", "amount", "method", "paid_at", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "invoice_id": {"bsonType": "objectId", "description": "reference to shop.invoices._id"},
     "currency": {"enum": ["EUR", "USD", "GBP"],
                  "description": "copy of the invoice's currency; source of truth: shop.invoices.currency"},
     "amount": {"bsonType": "decimal", "minimum": 0},
     "method": {"enum": ["card", "transfer", "wallet"]},
     "paid_at": {"bsonType": "date"},
     **AUDIT})

TEAMS = strict(
    ["_id", "tenant_id", "code", "member_ids", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "code": {"bsonType": "string", "pattern": "^TEAM-[0-9]{3,}$"},
     "member_ids": {"bsonType": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True,
                    "items": {"bsonType": "objectId"},
                    "description": "references to shop.users._id; users do not list their teams (one owner)"},
     **AUDIT})

POSITION = {"bsonType": "array", "minItems": 2, "maxItems": 2, "items": {"bsonType": "double"}}
DELIVERY_ZONES = strict(
    ["_id", "tenant_id", "code", "geometry", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "code": {"bsonType": "string", "pattern": "^ZONE-[0-9]{3,}$"},
     "geometry": strict(["type", "coordinates"], {
         "type": {"enum": ["Polygon"]},
         "coordinates": {"bsonType": "array", "minItems": 1,
                         "items": {"bsonType": "array", "minItems": 4, "items": POSITION},
                         "description": "GeoJSON Polygon: one linear ring, as long as the outline it draws"}}),
     **AUDIT})

RESTOCKS = strict(
    ["_id", "tenant_id", "supplier_code", "items", "total", "status", "created_at", "updated_at"],
    {"_id": {"bsonType": "objectId"}, **TENANT,
     "supplier_code": {"bsonType": "string", "pattern": "^SUP-[0-9]{3}$"},
     "items": {"bsonType": "array", "minItems": 1, "maxItems": 10, "items": strict(
         ["part_no", "price", "qty"],
         {"part_no": {"bsonType": "string", "pattern": "^P-[0-9]{5}$"},
          "price": {"bsonType": "decimal", "minimum": 0}, "qty": {"bsonType": "int", "minimum": 1}})},
     "total": {"bsonType": "decimal", "description": "always the sum of items.price x items.qty"},
     "status": {"enum": ["draft", "placed", "shipped", "cancelled"]},
     "shipped_at": {"bsonType": "date", "description": "present exactly when status is shipped"},
     **AUDIT})
