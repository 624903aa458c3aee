"""payments: pending requests and quarantine, refunds, suggestion rank

Revision ID: 0006_payments
Revises: 0005_imports
Create Date: 2026-12-04 16:30:50.511154
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from copcca.config import get_settings
from copcca.db import rls

revision: str = "0006_payments"
# After the Import Center (0005): the branches were merged in that order.
down_revision: str | None = "0005_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_refunds",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_reference", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_at", STAMP, nullable=False),
        sa.Column("raw", JSON, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_payment_refunds_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_refunds_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "company_id",
            "provider",
            "provider_reference",
            name=op.f("uq_payment_refunds_company_id_provider_provider_reference"),
        ),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_refunds_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_refunds_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "payment_requests",
        sa.Column("integration_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("receipt", sa.String(length=100), nullable=True),
        sa.Column("receipt_verified", sa.Boolean(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("account_reference", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed", JSON, nullable=False),
        sa.Column("result_code", sa.String(length=40), nullable=True),
        sa.Column("result_desc", sa.Text(), nullable=True),
        sa.Column("review_reason", sa.String(length=40), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.String(length=100), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("next_check_at", STAMP, nullable=True),
        sa.Column("last_checked_at", STAMP, nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("settled_via", sa.String(length=16), nullable=True),
        sa.Column("settled_at", STAMP, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_payment_requests_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payment_requests_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_payment_requests_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payment_requests_invoice_id_invoices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_requests_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_payment_requests_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
        sa.UniqueConstraint(
            "company_id",
            "provider",
            "reference",
            name=op.f("uq_payment_requests_company_id_provider_reference"),
        ),
    )
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_requests_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            "ix_payment_requests_company_receipt",
            ["company_id", "receipt"],
            unique=False,
        )
        batch_op.create_index(
            "ix_payment_requests_company_status",
            ["company_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_payment_requests_conversation",
            ["company_id", "conversation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_requests_integration_id"),
            ["integration_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_requests_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_requests_payment_id"), ["payment_id"], unique=False
        )

    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refunded_minor", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("refunded_minor", server_default=None)

    _secure_postgres()


def _secure_postgres() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = get_settings().app_db_role
    for table in ("payment_refunds", "payment_requests"):
        rls.secure_table(op.execute, table, role)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("refunded_minor")
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.drop_column("rank")
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_requests_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_requests_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payment_requests_integration_id"))
        batch_op.drop_index("ix_payment_requests_conversation")
        batch_op.drop_index("ix_payment_requests_company_status")
        batch_op.drop_index("ix_payment_requests_company_receipt")
        batch_op.drop_index(batch_op.f("ix_payment_requests_company_id"))
    op.drop_table("payment_requests")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_refunds_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_refunds_company_id"))
    op.drop_table("payment_refunds")
