"""Sales: a receipt over several rows is one sale with its lines, linked to
its customer and products; importing again creates nothing; undo removes
what the import made and puts back what it changed."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from copcca.imports import service
from copcca.models.crm import Customer, Product, Sale, SaleLine
from copcca.runtime import Runtime
from tests.helpers import Tenant, make_company
from tests.imports.helpers import check, import_file, job, upload
from tests.imports.test_targets import PRODUCTS

SALES = (
    "Tarehe,Namba ya risiti,Mteja,Simu,Msimbo,Bidhaa,Idadi,Bei,Jumla\n"
    "05/03/2025,R-1001,Wanjiku Kamau,0712 345 678,UNGA-2KG,Unga wa ngano 2kg,2,KSh 210,KSh 420\n"
    '05/03/2025,R-1001,Wanjiku Kamau,0712 345 678,SUK-1KG,Sukari 1kg,1,"1,000.50",\n'
    "06/03/2025,R-1002,Juma Otieno,0700 000 001,UNGA-2KG,Unga wa ngano 2kg,1,210,210\n"
)


def _sales(runtime: Runtime, tenant: Tenant) -> list[tuple[object, ...]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(Sale.number, Sale.total_minor, Customer.name, Sale.source)
            .join(Customer, Customer.id == Sale.customer_id)
            .order_by(Sale.number)
        ).all()
    return [tuple(r) for r in rows]


def _lines(runtime: Runtime, tenant: Tenant) -> list[tuple[object, ...]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(
                Sale.number,
                Product.sku,
                SaleLine.quantity,
                SaleLine.unit_price_minor,
                SaleLine.total_minor,
            )
            .join(Sale, Sale.id == SaleLine.sale_id)
            .join(Product, Product.id == SaleLine.product_id)
            .order_by(Sale.number, Product.sku)
        ).all()
    return [tuple(r) for r in rows]


def _count(runtime: Runtime, tenant: Tenant, model: type) -> int:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return len(session.scalars(select(model.id)).all())  # type: ignore[attr-defined]


def test_a_receipt_over_two_rows_is_one_sale_with_two_lines(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    done = import_file(runtime, tenant, SALES.encode(), "sales")

    assert (done.status, done.created_count, done.skipped_count) == ("finished", 2, 0)
    assert _sales(runtime, tenant) == [
        ("R-1001", 42000 + 100050, "Wanjiku Kamau", "import"),
        ("R-1002", 21000, "Juma Otieno", "import"),
    ]
    assert _lines(runtime, tenant) == [
        ("R-1001", "SUK-1KG", 1, 100050, 100050),
        ("R-1001", "UNGA-2KG", 2, 21000, 42000),
        ("R-1002", "UNGA-2KG", 1, 21000, 21000),
    ]
    assert done.details["problem_counts"] == {"unknown_customer": 2}
    assert _count(runtime, tenant, Customer) == 2  # created once each


def test_the_same_sales_file_twice_creates_nothing(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    import_file(runtime, tenant, SALES.encode(), "sales")
    before = (_sales(runtime, tenant), _lines(runtime, tenant))

    again = import_file(runtime, tenant, SALES.encode(), "sales")

    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        2,
    )
    assert (_sales(runtime, tenant), _lines(runtime, tenant)) == before
    assert _count(runtime, tenant, Customer) == 2
    assert again.details["problem_counts"] == {"duplicate_existing": 2}


def test_a_corrected_file_updates_and_undo_restores(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    import_file(runtime, tenant, SALES.encode(), "sales")
    original = (_sales(runtime, tenant), _lines(runtime, tenant))
    fixed = SALES.replace(",2,KSh 210,KSh 420", ",3,KSh 210,KSh 630")
    fixed += "07/03/2025,R-1003,Amina Ali,0722 000 002,SUK-1KG,Sukari 1kg,1,990,990\n"

    done = import_file(runtime, tenant, fixed.encode(), "sales")

    assert (done.created_count, done.updated_count, done.unchanged_count) == (1, 1, 1)
    assert _sales(runtime, tenant)[0] == (
        "R-1001",
        63000 + 100050,
        "Wanjiku Kamau",
        "import",
    )
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert job(runtime, tenant, done.id).status == "undone"
    assert (_sales(runtime, tenant), _lines(runtime, tenant)) == original
    assert _count(runtime, tenant, Customer) == 2  # Amina, created by it, is gone


def test_undo_of_the_first_import_removes_sales_lines_and_new_customers(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, PRODUCTS, "products")
    done = import_file(runtime, tenant, SALES.encode(), "sales")
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert job(runtime, tenant, done.id).details["undo"] == {
        "removed": 7,  # 2 sales, 3 lines, 2 customers
        "restored": 0,
        "conflicts": 0,
    }
    assert [_count(runtime, tenant, m) for m in (Sale, SaleLine, Customer)] == [
        0,
        0,
        0,
    ]
    assert _count(runtime, tenant, Product) == 2


def test_unknown_products_skip_or_create_and_rows_without_receipt(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    data = b"Date,Item,Qty,Amount\n05/03/2025,Mafuta 1L,1,350\n05/03/2025,Chumvi,2,60\n"
    check_id = upload(runtime, tenant, data, "sales")
    checked = check(runtime, tenant, check_id)
    assert checked.details["plan"]["skipped"] == 2
    assert checked.details["plan"]["problems"] == {"unknown_product": 2}
    assert _count(runtime, tenant, Sale) == 0  # the check wrote nothing

    made = import_file(
        runtime, tenant, data, "sales", on_problem={"unknown_product": "create"}
    )
    assert made.created_count == 2
    again = import_file(
        runtime, tenant, data, "sales", on_problem={"unknown_product": "create"}
    )
    assert (again.created_count, again.unchanged_count) == (0, 2)
    assert _count(runtime, tenant, Product) == 2
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        totals = sorted(session.scalars(select(Sale.total_minor)))
    assert totals == [6000, 35000]


def test_a_receipt_is_kept_in_one_batch(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    runtime.settings.import_batch_rows = 2
    rows = ["Date,Receipt,SKU,Product,Qty,Total"]
    for n in range(3):
        rows.append(f"05/03/2025,R-9,S{n},Item {n},1,100")
    rows.append("05/03/2025,R-10,S0,Item 0,1,100")
    data = ("\n".join(rows) + "\n").encode()
    done = import_file(
        runtime, tenant, data, "sales", on_problem={"unknown_product": "create"}
    )
    assert (done.created_count, done.batches_done) == (2, 2)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        totals = dict(session.execute(select(Sale.number, Sale.total_minor)).all())
    assert totals == {"R-9": 30000, "R-10": 10000}
    assert uuid.UUID(str(done.id))
