"""PostgreSQL row-level security for every tenant table (design.md §5).

Migrations call :func:`secure_table` for each table that carries
``company_id``: RLS enabled *and forced*, one policy on the transaction's
``app.company_id``, and privileges for the application role, which owns
nothing and cannot bypass RLS (promises T1, T2, T9).
"""

from __future__ import annotations

from collections.abc import Callable

CURRENT_COMPANY = "nullif(current_setting('app.company_id', true), '')::uuid"
CURRENT_USER = "nullif(current_setting('app.user_id', true), '')::uuid"

# Tables the app may only append to and read (promise T9).
APPEND_ONLY = frozenset({"audit_log"})

# Extra visibility: a signed-in person may list their own memberships across
# companies (the company switcher and sign-in need it).
EXTRA_USING = {"memberships": f"user_id = {CURRENT_USER}"}

Execute = Callable[[str], object]


def ensure_app_role(execute: Execute, role: str) -> None:
    """Create the login role the app connects as, if the migrator may."""
    execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB
                    NOCREATEROLE;
            END IF;
        END
        $$;
        """
    )
    execute(f"GRANT USAGE ON SCHEMA public TO {role}")


def secure_table(execute: Execute, table: str, role: str) -> None:
    """Enable and force RLS on one tenant table and grant the app role."""
    using = f"company_id = {CURRENT_COMPANY}"
    extra = EXTRA_USING.get(table)
    read_using = f"({using}) OR ({extra})" if extra else using
    execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    execute(f"DROP POLICY IF EXISTS tenant_read ON {table}")
    execute(f"DROP POLICY IF EXISTS tenant_write ON {table}")
    execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({read_using})")
    if table in APPEND_ONLY:
        execute(
            f"CREATE POLICY tenant_write ON {table} FOR INSERT WITH CHECK ({using})"
        )
        execute(f"GRANT SELECT, INSERT ON {table} TO {role}")
        return
    execute(
        f"CREATE POLICY tenant_write ON {table} FOR ALL USING ({using}) "
        f"WITH CHECK ({using})"
    )
    execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def grant_global_table(execute: Execute, table: str, role: str) -> None:
    """Tables without a company (users, companies, system rows)."""
    execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
