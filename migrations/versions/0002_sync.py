"""sync engine: sync_runs (J6 locking ledger) and sync_skips

Revision ID: 0002_sync
Revises: 0001
Create Date: 2026-12-04 16:32:12.721861
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from copcca.config import get_settings
from copcca.db import rls

revision: str = '0002_sync'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_skips',
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('record_key', sa.String(length=255), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_sync_skips_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sync_skips_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_sync_skips_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_skips')),
    sa.UniqueConstraint('integration_id', 'stream', 'record_key', name=op.f('uq_sync_skips_integration_id_stream_record_key'))
    )
    with op.batch_alter_table('sync_skips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_skips_company_id'), ['company_id'], unique=False)

    op.create_table('sync_runs',
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('full_resync', sa.Boolean(), nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('log_id', sa.Uuid(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_sync_runs_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_sync_runs_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['log_id'], ['sync_logs.id'], name=op.f('fk_sync_runs_log_id_sync_logs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_sync_runs_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_sync_runs_company_status', ['company_id', 'status'], unique=False)
        batch_op.create_index('uq_sync_runs_one_queued', ['integration_id'], unique=True, sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.create_index('uq_sync_runs_one_running', ['integration_id'], unique=True, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    _secure_postgres()


def _secure_postgres() -> None:
    """Row-level security on the new tenant tables (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = get_settings().app_db_role
    for table in ("sync_runs", "sync_skips"):
        rls.secure_table(op.execute, table, role)


def downgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_sync_runs_one_running', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index('uq_sync_runs_one_queued', sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.drop_index('ix_sync_runs_company_status')
        batch_op.drop_index(batch_op.f('ix_sync_runs_company_id'))

    op.drop_table('sync_runs')
    with op.batch_alter_table('sync_skips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_skips_company_id'))

    op.drop_table('sync_skips')
