"""import center

Revision ID: 0005_imports
Revises: 0002_sync
Create Date: 2026-12-04 16:35:09.882028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from copcca.config import get_settings
from copcca.db import rls

revision: str = "0005_imports"
down_revision: str | None = "0002_sync"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NEW_TABLES = ("import_links", "import_changes", "import_files", "import_problems")

branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_links",
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_import_links_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_links")),
        sa.UniqueConstraint(
            "company_id",
            "entity",
            "source_key",
            "external_id",
            name=op.f("uq_import_links_company_id_entity_source_key_external_id"),
        ),
    )
    with op.batch_alter_table("import_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_links_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "import_changes",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("first_row", sa.Integer(), nullable=False),
        sa.Column("last_row", sa.Integer(), nullable=False),
        sa.Column("created", JSON, nullable=False),
        sa.Column("updated", JSON, nullable=False),
        sa.Column("links", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_import_changes_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_changes_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_changes")),
        sa.UniqueConstraint(
            "job_id", "batch", name=op.f("uq_import_changes_job_id_batch")
        ),
    )
    with op.batch_alter_table("import_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_changes_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "import_files",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_import_files_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_files_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_import_files")),
    )
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_files_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "import_problems",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_import_problems_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_problems_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_problems")),
    )
    with op.batch_alter_table("import_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_problems_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            "ix_import_problems_job_row", ["job_id", "row"], unique=False
        )

    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("details", JSON, nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("source_key", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("runner", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sync_log_id", sa.Uuid(), nullable=True))
        for name in ("checkpoint_row", "batches_done", "unchanged_count"):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default="0")
            )

    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.alter_column("details", server_default=None)
        for name in ("checkpoint_row", "batches_done", "unchanged_count"):
            batch_op.alter_column(name, server_default=None)

    if op.get_bind().dialect.name == "postgresql":
        role = get_settings().app_db_role
        for table in NEW_TABLES:
            rls.secure_table(op.execute, table, role)


def downgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("unchanged_count")
        batch_op.drop_column("batches_done")
        batch_op.drop_column("checkpoint_row")
        batch_op.drop_column("sync_log_id")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("runner")
        batch_op.drop_column("source_key")
        batch_op.drop_column("details")

    with op.batch_alter_table("import_problems", schema=None) as batch_op:
        batch_op.drop_index("ix_import_problems_job_row")
        batch_op.drop_index(batch_op.f("ix_import_problems_company_id"))

    op.drop_table("import_problems")
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_files_company_id"))

    op.drop_table("import_files")
    with op.batch_alter_table("import_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_changes_company_id"))

    op.drop_table("import_changes")
    with op.batch_alter_table("import_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_links_company_id"))

    op.drop_table("import_links")
