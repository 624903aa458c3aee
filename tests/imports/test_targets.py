"""Products, stock counts and competitor prices: matched, idempotent, undoable."""

from __future__ import annotations

from sqlalchemy import select

from copcca.imports import service
from copcca.models.crm import CompetitorPrice, Product
from copcca.runtime import Runtime
from tests.helpers import make_company
from tests.imports.helpers import import_file, job

PRODUCTS = (
    b"Bidhaa,Msimbo,Bei,Idadi,Kiwango cha kuagiza\n"
    b"Unga wa ngano 2kg,UNGA-2KG,KSh 210,24,6\n"
    b'Sukari 1kg,SUK-1KG,"1,000.50",10,5\n'
)


def _products(runtime: Runtime, company_id: object) -> list[tuple[object, ...]]:
    with runtime.db.transaction(company_id, write=False) as session:  # type: ignore[arg-type]
        rows = session.execute(
            select(
                Product.sku,
                Product.name,
                Product.price_minor,
                Product.stock_qty,
                Product.reorder_level,
            ).order_by(Product.sku)
        ).all()
    return [tuple(r) for r in rows]


def test_products_with_stock_and_reorder_level(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(runtime, tenant, PRODUCTS, "products")
    assert done.created_count == 2
    assert _products(runtime, tenant.company_id) == [
        ("SUK-1KG", "Sukari 1kg", 100050, 10, 5),
        ("UNGA-2KG", "Unga wa ngano 2kg", 21000, 24, 6),
    ]
    again = import_file(runtime, tenant, PRODUCTS, "products")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        2,
    )


def test_stock_count_updates_stock_skips_unknown_and_undo_restores(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    counts = b"SKU,Counted\nUNGA-2KG,18\nSUK-1KG,10\nMAFUTA-1L,4\n"
    done = import_file(runtime, tenant, counts, "stock_counts")
    assert (done.updated_count, done.unchanged_count, done.skipped_count) == (1, 1, 1)
    assert done.details["problem_counts"] == {"unknown_product": 1}
    assert [r[3] for r in _products(runtime, tenant.company_id)] == [10, 18]

    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert job(runtime, tenant, done.id).status == "undone"
    assert [r[3] for r in _products(runtime, tenant.company_id)] == [10, 24]

    created = import_file(
        runtime,
        tenant,
        counts,
        "stock_counts",
        on_problem={"unknown_product": "create"},
    )
    assert created.created_count == 1
    assert ("MAFUTA-1L", "MAFUTA-1L", 0, 4, None) in _products(
        runtime, tenant.company_id
    )


def test_competitor_prices_keep_a_history_without_repeats(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    seen = "Product,Competitor,Price\nUnga wa ngano 2kg,Naivas,KSh 215\nSukari 1kg,Naivas,990\n"
    first = import_file(runtime, tenant, seen.encode(), "competitor_prices")
    assert first.created_count == 2
    again = import_file(runtime, tenant, seen.encode(), "competitor_prices")
    assert (again.created_count, again.unchanged_count) == (0, 2)
    moved = import_file(
        runtime,
        tenant,
        seen.replace("KSh 215", "KSh 220").encode(),
        "competitor_prices",
    )
    assert (moved.created_count, moved.unchanged_count) == (1, 1)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        prices = sorted(session.scalars(select(CompetitorPrice.price_minor)))
    assert prices == [21500, 22000, 99000]

    dated = "Product,Competitor,Price,Date\nSukari 1kg,Carrefour,980,05/03/2025\n"
    assert (
        import_file(runtime, tenant, dated.encode(), "competitor_prices").created_count
        == 1
    )
    redated = dated.replace(",980,", ",975,")
    same_day = import_file(runtime, tenant, redated.encode(), "competitor_prices")
    assert (same_day.created_count, same_day.updated_count) == (0, 1)
