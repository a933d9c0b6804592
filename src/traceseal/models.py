"""Every table, imported in one place so Alembic and tests see the whole schema."""

from traceseal.alerts.models import Alert, Delivery, Webhook
from traceseal.channels.models import ChannelMessage, ChannelToken, SmsReply
from traceseal.codes.models import CodeRun, CodeSegment, ExportJob, KeySlot
from traceseal.counters import RateWindow
from traceseal.db import Base
from traceseal.epcis.models import (
    CaptureJob,
    Event,
    EventAccess,
    EventBizTransaction,
    EventEpc,
)
from traceseal.ledger.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerHead,
    LedgerKey,
    LedgerLeaf,
    LedgerNode,
)
from traceseal.logistics.models import Assignment, Distributor, DistributorLocation, TerritoryRegion
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
from traceseal.risk.models import CodeRisk
from traceseal.verify.models import Scan, ScannedCode, ScanRollup
from traceseal.verify.reports.models import CounterfeitReport, ReportPhoto

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
    "CodeRisk",
    "CodeRun",
    "CodeSegment",
    "ConsoleSession",
    "CounterfeitReport",
    "Delivery",
    "Distributor",
    "DistributorLocation",
    "Event",
    "EventAccess",
    "EventBizTransaction",
    "EventEpc",
    "ExportJob",
    "KeySlot",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerHead",
    "LedgerKey",
    "LedgerLeaf",
    "LedgerNode",
    "Organization",
    "Person",
    "Product",
    "Programme",
    "QualityRecord",
    "QualityScope",
    "RateWindow",
    "Recall",
    "RecoveryCode",
    "ReportPhoto",
    "ResetLink",
    "Scan",
    "ScanRollup",
    "ScannedCode",
    "SecurityPolicy",
    "SignInThrottle",
    "SigningKey",
    "SmsReply",
    "TerritoryRegion",
    "Webhook",
]
