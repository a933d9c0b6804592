"""Where every table would live past one database host (docs/scaling.md).

PRODUCT.md, decision 4: the big tables are keyed so they can be spread over many machines
with a distributed PostgreSQL such as Citus. This map is the plan, kept beside the schema:
``tests/unit/test_distribution.py`` fails when a table is missing from it, or when a
table's keys or foreign keys would stop it being distributed as written here.

Three kinds, as Citus names them:

- :class:`Distributed`: rows hash-spread over the workers by one column. Every primary key
  and unique key must contain that column (a worker can only enforce uniqueness within its
  own shard), and so must the range-partition column of a partitioned table. Tables with the
  same ``group`` are co-located: the same value lands on the same worker, so a transaction
  or join on that value stays on one machine.
- ``REFERENCE``: a copy on every worker. Small, read by the hot paths' joins (a verification
  joins segment, run, product, batch and organisation), rarely written.
- ``LOCAL``: stays on the coordinator only. The serial ledger (one Merkle tree has one
  writer), queues and one-row state.

Nothing here runs at import time or touches a database; it is data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["LOCAL", "PLAN", "REFERENCE", "Distributed", "Placement"]


@dataclass(frozen=True)
class Distributed:
    """Hash-distributed by ``column``; co-located with the other tables of ``group``."""

    column: str
    group: str
    #: The range-partition column on PostgreSQL (migration 0021), if the table is partitioned.
    partitioned_by: str | None = None
    #: What must change in the schema before the table can be distributed; None if nothing.
    #: A table with a pending change is checked the other way round: the test fails once the
    #: change is made, so that this note is removed with it.
    pending: str | None = None


REFERENCE: Final = "reference"
LOCAL: Final = "local"

Placement = Distributed | Literal["reference", "local"]

# Co-location groups (docs/scaling.md, "Co-location").
_CODES = "codes"  # by key slot: a verification's counter, log row and risk row on one worker
_EVENTS = "events"  # by event row id: an EPCIS event and its index rows
_TENANTS = "tenants"  # by brand: its analytics
_CLIENTS = "clients"  # by rate-window key: the limits' counters

PLAN: Final[dict[str, Placement]] = {
    # The scan path: the three tables one verification writes, all by slot.
    "scans": Distributed("slot", _CODES, partitioned_by="scanned_at"),
    "scanned_codes": Distributed("slot", _CODES),
    "code_risk": Distributed("slot", _CODES),
    "scan_rollups": Distributed("organization_id", _TENANTS),
    # Analytics derived from the scan log, per brand like the rollups they come from.
    "diversion_flows": Distributed("organization_id", _TENANTS),
    "scan_sums_totals": Distributed("organization_id", _TENANTS),
    "scan_sums_products": Distributed("organization_id", _TENANTS),
    "scan_sums_provinces": Distributed("organization_id", _TENANTS),
    "scan_sums_cities": Distributed("organization_id", _TENANTS),
    "scan_sums_hours": Distributed("organization_id", _TENANTS),
    "scan_devices": Distributed("organization_id", _TENANTS),
    "rate_windows": Distributed("key", _CLIENTS),
    # Answers per client network and day: written in batches by each process's writer,
    # read by the operator grouped by network.
    "network_days": Distributed("network", "networks"),
    # EPCIS: an event and its EPC, access and business-transaction rows together, so the
    # joins of a query by EPC run on each worker without moving rows.
    "epcis_events": Distributed(
        "id",
        _EVENTS,
        pending=(
            "the per-organisation uniqueness of eventID and of the event hash cannot be "
            "enforced by a table hashed by event id: it moves to a table of its own, "
            "distributed by organization_id, written in the capture's transaction"
        ),
    ),
    "epcis_epcs": Distributed("event", _EVENTS),
    "epcis_event_access": Distributed("event", _EVENTS),
    "epcis_biz_transactions": Distributed("event", _EVENTS),
    "epcis_error_declarations": Distributed("event", _EVENTS),
    "epcis_corrective_events": Distributed("event", _EVENTS),
    # Read by every verification's one context query, or by the pages and checks of every
    # feature; small next to the scan log.
    "organizations": REFERENCE,
    # One row a month, read once a month by each process: the keyed hashes' salts.
    "client_salts": REFERENCE,
    "api_keys": REFERENCE,
    "key_slots": REFERENCE,
    "code_runs": REFERENCE,
    "code_segments": REFERENCE,
    "code_assignments": REFERENCE,
    "products": REFERENCE,
    "batches": REFERENCE,
    "recalls": REFERENCE,
    "programmes": REFERENCE,
    "quality_records": REFERENCE,
    "quality_scopes": REFERENCE,
    "quality_attachments": REFERENCE,
    "signing_keys": REFERENCE,
    "distributors": REFERENCE,
    "distributor_locations": REFERENCE,
    "distributor_regions": REFERENCE,
    # Open critical alerts are read by every verification (statements.CONTEXT).
    "alerts": REFERENCE,
    "epcis_capture_jobs": REFERENCE,
    # Marked by the rare late scan inside a verification's transaction; a few rows.
    "rollup_stale": REFERENCE,
    # The coordinator's own: the log has one writer by design, the rest are queues,
    # one-row state and files' metadata.
    "ledger_leaves": LOCAL,
    "ledger_nodes": LOCAL,
    "ledger_head": LOCAL,
    "ledger_key": LOCAL,
    "ledger_checkpoints": LOCAL,
    "ledger_cosignatures": LOCAL,
    "webhooks": LOCAL,
    "webhook_deliveries": LOCAL,
    # An alert's workflow steps: read only by its pages and the API, like the deliveries.
    "alert_changes": LOCAL,
    "channel_messages": LOCAL,
    "channel_tokens": LOCAL,
    "sms_outbox": LOCAL,
    "export_jobs": LOCAL,
    "counterfeit_reports": LOCAL,
    "report_photos": LOCAL,
    "rollup_folds": LOCAL,
    "scan_submissions": LOCAL,
    "epcis_named_queries": LOCAL,
    "epcis_subscriptions": LOCAL,
    "epcis_subscription_deliveries": LOCAL,
    # People and their console: a few requests a minute, served by the coordinator.
    "people": LOCAL,
    "console_sessions": LOCAL,
    "password_reset_links": LOCAL,
    "recovery_codes": LOCAL,
    "security_policies": LOCAL,
    "sign_in_throttles": LOCAL,
    "audit_log": LOCAL,
}
