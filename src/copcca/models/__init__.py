"""All tables, imported here so ``Base.metadata`` knows every one of them."""

from copcca.models.audit import AuditEntry
from copcca.models.crm import (
    CompetitorPrice,
    Customer,
    ExternalId,
    Invoice,
    Message,
    Payment,
    PaymentAllocation,
    Product,
    Sale,
    SaleLine,
)
from copcca.models.import_rows import (
    ImportChange,
    ImportFileChunk,
    ImportLink,
    ImportProblem,
)
from copcca.models.imports import ImportJob
from copcca.models.integrations import (
    DeduplicationRule,
    Integration,
    IntegrationMapping,
    SyncLog,
    SyncRule,
    SyncState,
    WebhookInbox,
)
from copcca.models.payments import PaymentRefund, PaymentRequest
from copcca.models.sync import SyncRun, SyncSkip
from copcca.models.system import VaultCheck, WorkerHeartbeat
from copcca.models.tenancy import (
    ApiKey,
    AuthSession,
    Company,
    Invitation,
    Membership,
    User,
)
from copcca.models.webhooks import Event, IntegrationWebhook, WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuthSession",
    "Company",
    "CompetitorPrice",
    "Customer",
    "DeduplicationRule",
    "Event",
    "ExternalId",
    "ImportChange",
    "ImportFileChunk",
    "ImportJob",
    "ImportLink",
    "ImportProblem",
    "Integration",
    "IntegrationMapping",
    "IntegrationWebhook",
    "Invitation",
    "Invoice",
    "Membership",
    "Message",
    "Payment",
    "PaymentAllocation",
    "PaymentRefund",
    "PaymentRequest",
    "Product",
    "Sale",
    "SaleLine",
    "SyncLog",
    "SyncRule",
    "SyncRun",
    "SyncSkip",
    "SyncState",
    "User",
    "VaultCheck",
    "WebhookDelivery",
    "WebhookInbox",
    "WorkerHeartbeat",
]
