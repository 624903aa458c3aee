"""Competitor prices: a price history per product and competitor. A price
equal to the last one seen (or to the one recorded for the same day) is not
stored again, so importing the same list twice adds nothing."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.writers.base import CleanBatch, WriteContext, Written
from copcca.imports.writers.linked import products_for
from copcca.models.crm import CompetitorPrice

TABLE = cast(Table, CompetitorPrice.__table__)
LOADED = (
    CompetitorPrice.id,
    CompetitorPrice.product_id,
    CompetitorPrice.competitor,
    CompetitorPrice.price_minor,
    CompetitorPrice.currency,
    CompetitorPrice.observed_at,
)


class CompetitorPriceWriter:
    entity = "competitor_price"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.zone = ZoneInfo(ctx.company.timezone)

    def write(self, batch: CleanBatch) -> Written:
        out = Written("competitor_price")
        product_ids = products_for(self.ctx, batch, out, required=True)
        self._prices(batch, product_ids, out)
        return out

    def _prices(
        self, batch: CleanBatch, product_ids: list[uuid.UUID | None], out: Written
    ) -> None:
        ctx = self.ctx
        competitors = batch.column("competitor")
        prices = batch.column("price_minor")
        seen_on = batch.column("observed_at")
        live = batch.live()
        history: dict[tuple[uuid.UUID, str], list[Any]] = {}
        for row in bulk.select_in(
            ctx.session,
            LOADED,
            CompetitorPrice.product_id,
            [product_ids[i] for i in live],
            CompetitorPrice.company_id == ctx.company.id,
        ):
            history.setdefault((row.product_id, row.competitor.lower()), []).append(row)
        now = utcnow()
        created: dict[str, list[Any]] = {
            n: []
            for n in (
                "id",
                "product_id",
                "competitor",
                "price_minor",
                "currency",
                "observed_at",
                "url",
            )
        }
        urls = batch.column("url")
        for i in live:
            pid = product_ids[i]
            assert pid is not None
            key = (pid, competitors[i].lower())
            observed = self._when(seen_on[i]) if seen_on[i] else None
            rows = history.setdefault(key, [])
            same = [
                r for r in rows if observed is not None and r.observed_at == observed
            ]
            latest = max(rows, key=lambda r: r.observed_at) if rows else None
            ref = same[0] if same else (latest if observed is None else None)
            currency = batch.currencies[i]
            if ref is not None and (ref.price_minor, ref.currency) == (
                prices[i],
                currency,
            ):
                out.unchanged += 1
                continue
            if same:
                row = same[0]
                ctx.session.execute(
                    TABLE.update()
                    .where(TABLE.c.id == row.id, TABLE.c.company_id == ctx.company.id)
                    .values(price_minor=prices[i], currency=currency)
                )
                out.updates.append(
                    {
                        "id": str(row.id),
                        "before": {
                            "price_minor": row.price_minor,
                            "currency": row.currency,
                        },
                        "after": {"price_minor": prices[i], "currency": currency},
                    }
                )
                out.updated += 1
                continue
            new_id = uuid.uuid4()
            stamp = observed or now
            for name, value in (
                ("id", new_id),
                ("product_id", pid),
                ("competitor", competitors[i]),
                ("price_minor", prices[i]),
                ("currency", currency),
                ("observed_at", stamp),
                ("url", urls[i]),
            ):
                created[name].append(value)
            rows.append(_Seen(new_id, pid, competitors[i], prices[i], currency, stamp))
            out.created += 1
        if created["id"]:
            bulk.insert_rows(
                ctx.session,
                TABLE,
                created,
                {"company_id": ctx.company.id, "source": "import"},
            )
            out.created_ids.extend(str(i) for i in created["id"])

    def _when(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(
            ZoneInfo("UTC")
        )


class _Seen:
    def __init__(
        self,
        id_: uuid.UUID,
        product_id: uuid.UUID,
        competitor: str,
        price_minor: int,
        currency: str,
        observed_at: datetime,
    ) -> None:
        self.id, self.product_id, self.competitor = id_, product_id, competitor
        self.price_minor, self.currency, self.observed_at = (
            price_minor,
            currency,
            observed_at,
        )
