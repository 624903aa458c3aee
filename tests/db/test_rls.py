"""PostgreSQL row-level security: promises T1, T2, T3, T6 and T9's grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, text

from copcca.db.session import Database
from copcca.models.crm import Customer
from tests.conftest import (
    APP_ROLE,
    PG_URL,
    DbUrls,
    _create_pg_database,
    _drop_pg_database,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PG_URL, reason="PostgreSQL not configured: set COPCCA_TEST_PG_URL"
    ),
]


@pytest.fixture(scope="module")
def pg() -> Iterator[DbUrls]:
    from copcca.db.migrate import upgrade

    assert PG_URL
    name, admin, app = _create_pg_database(PG_URL)
    upgrade(admin)
    try:
        yield DbUrls("postgresql", app, admin)
    finally:
        _drop_pg_database(PG_URL, name)


def _admin_rows(pg: DbUrls, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(
        pg.admin_url.replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def test_every_tenant_table_has_forced_rls_and_real_policies(pg: DbUrls) -> None:
    tables = [
        r[0]
        for r in _admin_rows(
            pg,
            """
        select table_name from information_schema.columns
        where table_schema = 'public' and column_name = 'company_id'""",
        )
    ]
    assert len(tables) >= 26
    for table in tables:
        ((enabled, forced),) = _admin_rows(
            pg,
            f"""
            select relrowsecurity, relforcerowsecurity from pg_class
            where relname = '{table}' and relnamespace = 'public'::regnamespace""",
        )
        assert (enabled, forced) == (True, True), table
        policies = _admin_rows(
            pg,
            f"""
            select policyname, coalesce(qual, ''), coalesce(with_check, '')
            from pg_policies where schemaname = 'public' and tablename = '{table}'""",
        )
        assert policies, f"{table} has no policy"
        for name, qual, check in policies:
            for expr in (qual, check):
                assert expr.strip().lower() not in ("true", "(true)"), (table, name)
            assert "app.company_id" in qual + check, (table, name)


def test_app_role_is_not_privileged_and_owns_nothing(pg: DbUrls) -> None:
    ((superuser, bypass),) = _admin_rows(
        pg, f"select rolsuper, rolbypassrls from pg_roles where rolname = '{APP_ROLE}'"
    )
    assert (superuser, bypass) == (False, False)
    owned = _admin_rows(
        pg,
        f"""
        select relname from pg_class c join pg_roles r on r.oid = c.relowner
        where r.rolname = '{APP_ROLE}'""",
    )
    assert owned == []


def test_audit_log_is_append_only_for_the_app_role(pg: DbUrls) -> None:
    ((can_insert, can_select, can_update, can_delete),) = _admin_rows(
        pg,
        f"""
        select has_table_privilege('{APP_ROLE}', 'audit_log', 'INSERT'),
               has_table_privilege('{APP_ROLE}', 'audit_log', 'SELECT'),
               has_table_privilege('{APP_ROLE}', 'audit_log', 'UPDATE'),
               has_table_privilege('{APP_ROLE}', 'audit_log', 'DELETE')""",
    )
    assert (can_insert, can_select, can_update, can_delete) == (
        True,
        True,
        False,
        False,
    )


def test_no_security_definer_functions_or_views_in_public(pg: DbUrls) -> None:
    definers = _admin_rows(
        pg,
        """
        select proname from pg_proc where prosecdef
        and pronamespace = 'public'::regnamespace""",
    )
    views = _admin_rows(pg, "select viewname from pg_views where schemaname = 'public'")
    assert (definers, views) == ([], [])


def _seed_companies(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    from copcca.security.accounts import SignUp, sign_up

    ids = []
    for name in ("A", "B"):
        _user, company = sign_up(
            db,
            SignUp(
                name, "Owner", f"{uuid.uuid4().hex[:8]}@x.co.ke", "long password", "KE"
            ),
        )
        ids.append(company.id)
        with db.transaction(company.id) as session:
            session.add(
                Customer(
                    company_id=company.id, name=f"Customer of {name}", currency="KES"
                )
            )
    return ids[0], ids[1]


def test_a_query_without_a_filter_sees_only_its_company(pg: DbUrls) -> None:
    db = Database(pg.app_url, pool_size=1)
    a, b = _seed_companies(db)
    with db.transaction(b) as session:
        names = session.scalars(select(Customer.name)).all()
    db.dispose()
    assert names == ["Customer of B"]
    del a


def test_no_tenant_context_sees_nothing_even_on_a_reused_connection(pg: DbUrls) -> None:
    db = Database(pg.app_url, pool_size=1)
    a, _b = _seed_companies(db)
    engine = db.engine
    with engine.connect() as conn:
        with conn.begin():
            conn.execute(
                text("select set_config('app.company_id', :c, true)"), {"c": str(a)}
            )
            assert conn.scalar(text("select count(*) from customers")) == 1
        with conn.begin():
            assert conn.scalar(text("select count(*) from customers")) == 0
    with db.transaction(None) as session:
        assert session.scalars(select(Customer)).all() == []
    db.dispose()


def test_insert_for_another_company_is_rejected(pg: DbUrls) -> None:
    from sqlalchemy.exc import ProgrammingError

    db = Database(pg.app_url, pool_size=1)
    a, b = _seed_companies(db)
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        db.transaction(a) as session,
    ):
        session.add(Customer(company_id=b, name="smuggled", currency="KES"))
    with db.transaction(b) as session:
        assert session.scalars(select(Customer.name)).all() == ["Customer of B"]
    db.dispose()
