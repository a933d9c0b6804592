"""Every table, imported in one place so Alembic and tests see the whole schema."""

from traceseal.alerts.models import Alert, Delivery, Webhook
from traceseal.analytics.models import (
    CitySums,
    DeviceSketch,
    FoldState,
    HourSums,
    ProductSums,
    ProvinceSums,
    TotalSums,
)
from traceseal.channels.models import ChannelMessage, ChannelToken, SmsReply
from traceseal.codes.models import CodeRun, CodeSegment, ExportJob, KeySlot
from traceseal.counters import RateWindow
from traceseal.db import Base
from traceseal.epcis.models import (
    CaptureJob,
    CorrectiveEvent,
    ErrorDeclaration,
    Event,
    EventAccess,
    EventBizTransaction,
    EventEpc,
)
from traceseal.epcis.standing_models import NamedQuery, Subscription, SubscriptionDelivery
from traceseal.ledger.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerHead,
    LedgerKey,
    LedgerLeaf,
    LedgerNode,
)
from traceseal.logistics.models import (
    Assignment,
    Distributor,
    DistributorLocation,
    ScanSubmission,
    TerritoryRegion,
)
from traceseal.orgs.models import ApiKey, Organization
from traceseal.people.models import (
    AuditEntry,
    ConsoleSession,
    Person,
    RecoveryCode,
    ResetLink,
    SecurityPolicy,
    SignInThrottle,
)
from traceseal.quality.models import (
    AttachmentUpload,
    Programme,
    QualityRecord,
    QualityScope,
    SigningKey,
)
from traceseal.recalls.models import Recall
from traceseal.registry.models import Batch, Product
from traceseal.risk.models import CodeRisk, DiversionFlow
from traceseal.verify.models import Scan, ScannedCode, ScanRollup, StaleDay
from traceseal.verify.networks import NetworkDay
from traceseal.verify.reports.models import CounterfeitReport, ReportPhoto
from traceseal.verify.salts import ClientSalt

__all__ = [
    "Alert",
    "ApiKey",
    "Assignment",
    "AttachmentUpload",
    "AuditEntry",
    "Base",
    "Batch",
    "CaptureJob",
    "ChannelMessage",
    "ChannelToken",
    "CitySums",
    "ClientSalt",
    "CodeRisk",
    "CodeRun",
    "CodeSegment",
    "ConsoleSession",
    "CorrectiveEvent",
    "CounterfeitReport",
    "Delivery",
    "DeviceSketch",
    "Distributor",
    "DistributorLocation",
    "DiversionFlow",
    "ErrorDeclaration",
    "Event",
    "EventAccess",
    "EventBizTransaction",
    "EventEpc",
    "ExportJob",
    "FoldState",
    "HourSums",
    "KeySlot",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerHead",
    "LedgerKey",
    "LedgerLeaf",
    "LedgerNode",
    "NamedQuery",
    "NetworkDay",
    "Organization",
    "Person",
    "Product",
    "ProductSums",
    "Programme",
    "ProvinceSums",
    "QualityRecord",
    "QualityScope",
    "RateWindow",
    "Recall",
    "RecoveryCode",
    "ReportPhoto",
    "ResetLink",
    "Scan",
    "ScanRollup",
    "ScanSubmission",
    "ScannedCode",
    "SecurityPolicy",
    "SignInThrottle",
    "SigningKey",
    "SmsReply",
    "StaleDay",
    "Subscription",
    "SubscriptionDelivery",
    "TerritoryRegion",
    "TotalSums",
    "Webhook",
]
