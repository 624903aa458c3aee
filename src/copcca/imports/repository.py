"""Import jobs, their stored files, problems and change log, per company."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import NamedTemporaryFile
from typing import IO, Any, BinaryIO

from sqlalchemy import delete, func, insert, select

from copcca.db.repository import TenantRepository
from copcca.models.import_rows import ImportChange, ImportFileChunk, ImportProblem
from copcca.models.imports import ImportJob

CHUNK_BYTES = 1 << 20


class ImportJobRepository(TenantRepository[ImportJob]):
    model = ImportJob
    noun = "import"

    def history(self, *, limit: int = 20, offset: int = 0) -> Sequence[ImportJob]:
        stmt = self.select().order_by(ImportJob.created_at.desc(), ImportJob.id)
        return self.all(stmt.limit(limit).offset(offset))

    def lock(self, job_id: uuid.UUID) -> ImportJob:
        """The job row, locked for this transaction (one runner at a time)."""
        stmt = self.select().where(ImportJob.id == job_id).with_for_update()
        row: ImportJob | None = self.session.scalars(stmt).first()
        if row is None:
            return self.get_or_404(job_id)
        return row

    def same_file(self, job: ImportJob) -> ImportJob | None:
        """An earlier finished import of the very same bytes, if any."""
        stmt = (
            self.select()
            .where(
                ImportJob.file_sha256 == job.file_sha256,
                ImportJob.id != job.id,
                ImportJob.status == "finished",
                ImportJob.target == job.target,
            )
            .order_by(ImportJob.finished_at.desc())
        )
        row: ImportJob | None = self.session.scalars(stmt.limit(1)).first()
        return row

    # stored file ----------------------------------------------------------
    def store_file(self, job: ImportJob, source: BinaryIO) -> None:
        seq = 0
        while chunk := source.read(CHUNK_BYTES):
            self.session.add(
                ImportFileChunk(
                    company_id=self.company_id, job_id=job.id, seq=seq, data=chunk
                )
            )
            seq += 1
            if seq % 16 == 0:
                self.session.flush()
        self.session.flush()

    def copy_file(self, job: ImportJob, target: IO[bytes]) -> int:
        """Write the stored file into ``target`` a piece at a time."""
        seq = size = 0
        while True:
            data = self.session.scalar(
                select(ImportFileChunk.data).where(
                    ImportFileChunk.company_id == self.company_id,
                    ImportFileChunk.job_id == job.id,
                    ImportFileChunk.seq == seq,
                )
            )
            if data is None:
                return size
            target.write(data)
            size += len(data)
            seq += 1

    @contextmanager
    def file(self, job: ImportJob) -> Iterator[Path]:
        """The stored file as a local temporary path, removed afterwards."""
        with NamedTemporaryFile(prefix="copcca-import-", suffix=".bin") as handle:
            self.copy_file(job, handle)
            handle.flush()
            yield Path(handle.name)

    def has_file(self, job: ImportJob) -> bool:
        return (
            self.session.scalar(
                select(func.count()).where(
                    ImportFileChunk.company_id == self.company_id,
                    ImportFileChunk.job_id == job.id,
                )
            )
            or 0
        ) > 0

    # problems -------------------------------------------------------------
    def clear_problems(self, job: ImportJob) -> None:
        self.session.execute(
            delete(ImportProblem).where(
                ImportProblem.company_id == self.company_id,
                ImportProblem.job_id == job.id,
            )
        )

    def add_problems(self, job: ImportJob, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(
                insert(ImportProblem),
                [
                    {
                        "id": uuid.uuid4(),
                        "company_id": self.company_id,
                        "job_id": job.id,
                        **row,
                    }
                    for row in rows
                ],
            )

    def problems(
        self,
        job: ImportJob,
        *,
        code: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[ImportProblem]:
        stmt = select(ImportProblem).where(
            ImportProblem.company_id == self.company_id, ImportProblem.job_id == job.id
        )
        if code:
            stmt = stmt.where(ImportProblem.code == code)
        stmt = stmt.order_by(ImportProblem.row, ImportProblem.code)
        return self.session.scalars(stmt.limit(limit).offset(offset)).all()

    def problem_rows(self, job: ImportJob, codes: Sequence[str]) -> set[int]:
        stmt = select(ImportProblem.row).where(
            ImportProblem.company_id == self.company_id,
            ImportProblem.job_id == job.id,
            ImportProblem.code.in_(list(codes)),
        )
        return set(self.session.scalars(stmt))

    # change log -----------------------------------------------------------
    def changes(
        self, job: ImportJob, *, pending_only: bool = True
    ) -> Sequence[ImportChange]:
        stmt = select(ImportChange).where(
            ImportChange.company_id == self.company_id, ImportChange.job_id == job.id
        )
        if pending_only:
            stmt = stmt.where(ImportChange.undone_at.is_(None))
        return self.session.scalars(stmt.order_by(ImportChange.batch.desc())).all()
