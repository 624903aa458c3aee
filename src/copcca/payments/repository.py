"""Queries over payment requests (pending, announced and quarantined)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_

from copcca.db.repository import TenantRepository
from copcca.models.payments import OPEN_STATUSES, PaymentRequest, RequestStatus


class PaymentRequestRepository(TenantRepository[PaymentRequest]):
    model = PaymentRequest
    noun = "payment request"

    def by_reference(self, provider: str, reference: str) -> PaymentRequest | None:
        row: PaymentRequest | None = self.session.scalars(
            self.select().where(
                PaymentRequest.provider == provider,
                PaymentRequest.reference == reference,
            )
        ).first()
        return row

    def locked_by_reference(
        self, provider: str, reference: str
    ) -> PaymentRequest | None:
        row: PaymentRequest | None = self.session.scalars(
            self.select()
            .where(
                PaymentRequest.provider == provider,
                PaymentRequest.reference == reference,
            )
            .with_for_update()
        ).first()
        return row

    def locked(self, request_id: object) -> PaymentRequest | None:
        row: PaymentRequest | None = self.session.scalars(
            self.select().where(PaymentRequest.id == request_id).with_for_update()
        ).first()
        return row

    def by_conversation(
        self, provider: str, conversation_id: str
    ) -> PaymentRequest | None:
        row: PaymentRequest | None = self.session.scalars(
            self.select()
            .where(
                PaymentRequest.provider == provider,
                PaymentRequest.conversation_id == conversation_id,
            )
            .with_for_update()
        ).first()
        return row

    def by_receipt(self, provider: str, receipt: str) -> Sequence[PaymentRequest]:
        return self.all(
            self.select().where(
                PaymentRequest.provider == provider, PaymentRequest.receipt == receipt
            )
        )

    def push_candidates(
        self, provider: str, amount_minor: int, since: datetime
    ) -> Sequence[PaymentRequest]:
        """Push requests of this amount that a notice could be the payment of."""
        return self.all(
            self.select()
            .where(
                PaymentRequest.provider == provider,
                PaymentRequest.origin == "push",
                PaymentRequest.amount_minor == amount_minor,
                PaymentRequest.created_at >= since,
                or_(
                    PaymentRequest.status.in_([s.value for s in OPEN_STATUSES]),
                    (PaymentRequest.status == RequestStatus.PAID.value)
                    & PaymentRequest.receipt.is_(None),
                ),
            )
            .order_by(PaymentRequest.created_at)
            .with_for_update()
        )

    def due(self, now: datetime, limit: int = 50) -> Sequence[PaymentRequest]:
        """Open requests whose next status check is due (promise P5)."""
        return self.all(
            self.select()
            .where(
                PaymentRequest.status.in_([s.value for s in OPEN_STATUSES]),
                or_(
                    PaymentRequest.next_check_at.is_(None),
                    PaymentRequest.next_check_at <= now,
                ),
            )
            .order_by(PaymentRequest.next_check_at)
            .limit(limit)
        )

    def sending_since(self, provider: str, since: datetime) -> int:
        return self.count(
            self.select().where(
                PaymentRequest.provider == provider,
                PaymentRequest.status == RequestStatus.SENDING.value,
                PaymentRequest.created_at >= since,
            )
        )

    def quarantined(self, limit: int = 100) -> Sequence[PaymentRequest]:
        return self.all(
            self.select()
            .where(PaymentRequest.status == RequestStatus.NEEDS_REVIEW.value)
            .order_by(PaymentRequest.created_at.desc())
            .limit(limit)
        )

    def count_quarantined(self) -> int:
        return self.count(
            self.select().where(
                PaymentRequest.status == RequestStatus.NEEDS_REVIEW.value
            )
        )

    def for_invoice(
        self, invoice_id: object, limit: int = 20
    ) -> Sequence[PaymentRequest]:
        return self.all(
            self.select()
            .where(PaymentRequest.invoice_id == invoice_id)
            .order_by(PaymentRequest.created_at.desc())
            .limit(limit)
        )

    def recent(self, limit: int = 50) -> Sequence[PaymentRequest]:
        return self.all(
            self.select().order_by(PaymentRequest.created_at.desc()).limit(limit)
        )


def backoff(checks: int) -> timedelta:
    """When to ask the provider again: 30 s, 1, 2, 4 ... up to 30 minutes."""
    return timedelta(seconds=min(1800, 30 * 2 ** max(0, checks)))
