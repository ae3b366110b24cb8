"""The demo database `shop`, built deterministically from a seed and a scale.

Multi-tenant e-commerce (tenant key `tenant_id`) with modelling problems planted on purpose,
each listed in the manifest with its DESIGN.md rule id, namespace and path, and clean control
collections that must raise no finding at all. Every value comes from one seeded
`random.Random` and one seeded Faker, and every time from a fixed end date, so the same seed and
scale give byte-identical output.
"""

from __future__ import annotations

from nosql_advisor.demo import controls, integrity, legacy, problems, relations, shop, workload
from nosql_advisor.demo.maker import Maker
from nosql_advisor.demo.model import DATABASE, Demo, DemoCollection, PlantedProblem, ns

__all__ = ["Demo", "DemoCollection", "PlantedProblem", "build_demo"]

CONTROLS = ("invoices", "shipments", "categories", "payments", "teams", "delivery_zones", "restocks")
GLOBAL = ("tenants",)


def build_demo(seed: int = 42, scale: float = 1.0) -> Demo:
    """The whole database in memory. The build order is part of the output: each builder draws
    from the same random stream, so reordering them changes every later value."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    make = Maker(seed, scale)
    planted: list[PlantedProblem] = []
    customers = shop.customers(make, planted)
    products = shop.products(make, planted)
    orders = shop.orders(make, customers, products, planted)
    invoices = controls.invoices(make, orders)
    users = relations.users(make)
    collections = [
        shop.tenants(make), customers, products, orders,
        shop.carts(make, customers, products, planted), shop.reviews(make, products, planted),
        shop.audit_events(make), shop.sessions(make, customers, planted),
        problems.coupons(make, planted), problems.newsletter_subscribers(make, planted),
        problems.api_clients(make, planted), problems.attachments(make, planted),
        problems.category_trees(make, planted), *problems.events_per_tenant(make, planted),
        invoices, controls.shipments(make, invoices), controls.categories(make),
        relations.wishlists(make, customers, products, planted), users, relations.groups(make, users, planted),
        relations.notifications(make, users, planted), legacy.legacy_notes(make, orders, planted),
        integrity.purchase_orders(make, planted), integrity.preferences(make, customers, planted),
        integrity.returns(make, orders, planted), controls.payments(make, invoices), controls.teams(make, users),
        controls.delivery_zones(make), controls.restocks(make),
    ]
    problems.missing_validators(collections, planted)
    demo = Demo(DATABASE, collections, planted, controls=[ns(name) for name in CONTROLS],
                seed=seed, scale=scale, global_collections=[ns(name) for name in GLOBAL])
    planted += workload.planted_writes(demo)  # found with --log OUT/mongod.log, written beside the data
    return demo
