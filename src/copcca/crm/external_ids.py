"""The map from (integration, entity, external id) to a CRM row."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from copcca.db.repository import TenantRepository
from copcca.models.crm import ExternalId


class ExternalIdRepository(TenantRepository[ExternalId]):
    model = ExternalId
    noun = "external id"

    def find(
        self, integration_id: uuid.UUID, entity: str, external_id: str
    ) -> ExternalId | None:
        stmt = self.select().where(
            ExternalId.integration_id == integration_id,
            ExternalId.entity == entity,
            ExternalId.external_id == external_id,
        )
        row: ExternalId | None = self.session.scalars(stmt).first()
        return row

    def link(
        self,
        integration_id: uuid.UUID,
        entity: str,
        external_id: str,
        entity_id: uuid.UUID,
        source_updated_at: datetime | None = None,
    ) -> ExternalId:
        row = self.find(integration_id, entity, external_id)
        if row is None:
            row = self.add(
                ExternalId(
                    integration_id=integration_id,
                    entity=entity,
                    external_id=external_id,
                    entity_id=entity_id,
                    source_updated_at=source_updated_at,
                )
            )
        else:
            row.entity_id = entity_id
            if source_updated_at is not None:
                row.source_updated_at = source_updated_at
        return row

    def ids_for(self, entity: str, entity_id: uuid.UUID) -> list[ExternalId]:
        stmt = self.select().where(
            ExternalId.entity == entity, ExternalId.entity_id == entity_id
        )
        return list(self.session.scalars(stmt))

    def entity_ids(
        self, integration_id: uuid.UUID, entity: str
    ) -> dict[str, uuid.UUID]:
        stmt = select(ExternalId.external_id, ExternalId.entity_id).where(
            ExternalId.company_id == self.company_id,
            ExternalId.integration_id == integration_id,
            ExternalId.entity == entity,
        )
        return {ext: eid for ext, eid in self.session.execute(stmt).all()}
