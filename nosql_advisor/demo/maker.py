"""The seeded sources of randomness and the helpers every collection builder shares.

Everything comes from one `random.Random(seed)` and one Faker seeded per instance, and every
time is measured back from a fixed END (never "now"), so a seed and a scale give the same bytes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from bson import Decimal128, ObjectId
from faker import Faker

from nosql_advisor.demo.model import TENANT_KEY

END = datetime(2026, 6, 30, 12, 0, 0)  # naive UTC, fixed so builds repeat
SPAN = timedelta(days=730)
START = END - SPAN
EPOCH = datetime(1970, 1, 1)
TENANTS = [f"t_{i:04d}" for i in range(1, 13)]
ZIPF = [1 / rank ** 2 for rank in range(1, len(TENANTS) + 1)]  # rank 1 holds ~63%


class Maker:
    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.scale = scale

    def count(self, base: int, least: int = len(TENANTS)) -> int:
        """base × scale, but never so few that a tenant is left without documents."""
        return max(least, round(base * self.scale))

    def moment(self, after: datetime | None = None) -> datetime:
        """A time between `after` (default START) and END, recent times likelier (a growing shop)."""
        start = after or START
        share = self.rng.random() ** 0.5
        return (start + (END - start) * share).replace(microsecond=0)

    def oid(self, when: datetime) -> ObjectId:
        """An ObjectId generated at `when`, so its timestamp agrees with created_at."""
        seconds = int((when - EPOCH).total_seconds())
        return ObjectId(seconds.to_bytes(4, "big") + self.rng.randbytes(8))

    def spread_tenant(self, number: int) -> str:
        """Round-robin: collections other than orders hold every tenant evenly (no DM305 there)."""
        return TENANTS[number % len(TENANTS)]

    def skewed_tenant(self, number: int) -> str:
        """Zipf-like (the planted DM305 of orders); the first documents visit every tenant once."""
        if number < len(TENANTS):
            return TENANTS[number]
        return self.rng.choices(TENANTS, ZIPF)[0]

    def audit(self, created: datetime) -> dict:
        updated = min(END, created + timedelta(hours=self.rng.randint(0, 2000)))
        return {"created_at": created, "updated_at": updated}

    def money(self, low: int, high: int) -> Decimal128:
        return Decimal128(Decimal(self.rng.randint(low * 100, high * 100)) / 100)


def by_tenant(documents: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for document in documents:
        grouped[document.get(TENANT_KEY)].append(document)
    return grouped


def validator(schema: dict, level: str = "strict", action: str = "error") -> dict:
    return {"validator": {"$jsonSchema": schema}, "validationLevel": level, "validationAction": action}


def tenant_index(*fields: tuple[str, int], **options) -> dict:
    """An index led by the tenant key, named as the server would name it."""
    key = {TENANT_KEY: 1, **dict(fields)}
    return {"key": key, "name": "_".join(f"{k}_{v}" for k, v in key.items()), **options}
