"""Settings: every knob TraceSeal reads, with its name, default and meaning in one place.

Settings are read from ``TRACESEAL_*`` environment variables when :func:`load_settings` is
called (by the CLI or the ASGI factory), never at import time. ``docs/settings.md`` is
checked against :data:`SETTINGS` by a test, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traceseal.merkle.note import Verifier
from traceseal.outbound import Policy
from traceseal.settings_values import (
    PARSERS,
    IPNetwork,
    SettingsError,
    check_values,
    is_local_host,
    parse_networks,
    parse_witnesses,
)

__all__ = [
    "SETTINGS",
    "Setting",
    "Settings",
    "SettingsError",
    "is_local_host",
    "load_settings",
    "parse_networks",
    "parse_witnesses",
]

ENV_PREFIX = "TRACESEAL_"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str
    help: str


#: What a setting's value must be, checked when settings are loaded (``check=``).
POSITIVE = "positive"
FLAG = "flag"  # 0 or 1
NATURAL = "natural"  # 0 (off, or for ever) or more
# Or a tuple of strings: the only values allowed (e.g. ("json", "text")).


def _setting(
    default: Any, help: str, check: str | tuple[str, ...] | None = None, **kwargs: Any
) -> Any:
    return field(default=default, metadata={"help": help, "check": check}, **kwargs)


@dataclass(frozen=True, slots=True)
class Settings:
    """The one configuration object. Build it with :func:`load_settings`."""

    data_dir: Path = _setting(
        Path("var"),
        "Directory for the embedded database, the master key file and generated files.",
    )
    database_url: str = _setting(
        "",
        "SQLAlchemy URL of the database. Empty means SQLite at DATA_DIR/traceseal.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname.",
    )
    master_key: str = _setting(
        "",
        "The 32-byte master key as 64 hex digits. Empty means read MASTER_KEY_FILE. "
        "It wraps every slot and signing key; losing it makes issued codes unverifiable.",
    )
    master_key_file: Path | None = _setting(
        None, "File holding the master key (mode 0600). Default DATA_DIR/master.key."
    )
    public_url: str = _setting(
        "http://127.0.0.1:8000",
        "Base URL printed into QR codes: {PUBLIC_URL}/01/{GTIN}/21/{code}. No trailing slash.",
    )
    slot_capacity: int = _setting(
        100_000_000,
        "Codes per key slot. A well-formed guess is an issued code with probability at most "
        "SLOT_CAPACITY / 10^16 (1e-8 by default).",
    )
    pin_digits: int = _setting(6, "Length of the optional scratch-off PIN.")
    pdf_max_labels: int = _setting(10_000, "Largest run rendered as a PDF label sheet.")
    max_run_size: int = _setting(
        1_000_000_000,
        "Largest number of codes one issuance request may ask for.",
        check=POSITIVE,
    )
    export_max_codes: int = _setting(
        1_000_000,
        "Most codes one export over HTTP may hold (codes.csv, codes.zip, labels.pdf or an "
        "export job); a larger run answers 413 before any work. While a ZIP is built its "
        "directory takes about 0.8 KB of memory per code. The CLI has no cap.",
        check=POSITIVE,
    )
    export_sync_max_labels: int = _setting(
        1_000,
        "Largest run whose codes.zip or labels.pdf is built while the client waits (about a "
        "second of one core); larger runs are export jobs: POST /api/v1/code-runs/{id}/exports.",
        check=POSITIVE,
    )
    export_retention: int = _setting(
        86_400,
        "Seconds a finished export job (done, failed) and its file are kept before both are "
        "deleted.",
        check=POSITIVE,
    )
    verify_rate_limit: int = _setting(
        120,
        "Verification requests per minute one client address may make (flood protection), "
        "counted across every server process and host: a token bucket in Redis with "
        "REDIS_URL, else a fixed minute in the database. 0 turns the limit off.",
        check=NATURAL,
    )
    verify_failure_limit: int = _setting(
        20,
        "not_found, mistyped and malformed answers one client (address or device) may get "
        "per VERIFY_FAILURE_WINDOW before it is refused with 429. 0 turns the limit off.",
        check=NATURAL,
    )
    verify_failure_window: int = _setting(
        600,
        "Length in seconds of the window VERIFY_FAILURE_LIMIT counts in.",
        check=POSITIVE,
    )
    enumeration_alert_threshold: int = _setting(
        500,
        "not_found answers across the platform within ENUMERATION_ALERT_WINDOW that raise an "
        "enumeration alert for the operator. 0 turns the alert off.",
        check=NATURAL,
    )
    enumeration_alert_window: int = _setting(
        300,
        "Length in seconds of the window ENUMERATION_ALERT_THRESHOLD counts in.",
        check=POSITIVE,
    )
    redis_url: str = _setting(
        "",
        "Redis URL (redis://127.0.0.1:6379/0) where the verification limits are counted: the "
        "flood, failure and report limits and the enumeration count, shared by every "
        "process and host without a statement in the verification's transaction. Empty: "
        "they are counted in the database, which every process shares too.",
    )
    ledger_origin: str = _setting(
        "",
        "Name of the transparency log: its checkpoints' origin line and its key's name. "
        "Empty means the host of PUBLIC_URL followed by /log. Fixed when the log key is made.",
    )
    ledger_witnesses: str = _setting(
        "",
        "Witnesses that cosign the log's checkpoints: comma-separated <witness verifier key>="
        "<URL> entries, the URL being the witness's add-checkpoint prefix. Empty: none.",
    )
    report_photo_max_bytes: int = _setting(
        5_000_000,
        "Largest photo a consumer may attach to a counterfeit report.",
        check=POSITIVE,
    )
    epcis_capture_max_events: int = _setting(
        50_000,
        "Most events one EPCIS capture request may carry (GS1-EPCIS-Capture-Limit). "
        "A document is stored in one transaction, which on SQLite holds the write lock.",
    )
    epcis_capture_max_bytes: int = _setting(
        64 * 1024 * 1024,
        "Largest EPCIS capture request body in bytes (GS1-EPCIS-Capture-File-Size-Limit).",
    )
    quality_attachment_max_bytes: int = _setting(
        20_000_000,
        "Largest PDF attached to a certificate or inspection report (POST /api/v1/attachments).",
        check=POSITIVE,
    )
    quality_import_max_rows: int = _setting(
        100_000,
        "Most rows one CSV import of quality records may have; it is stored in one transaction.",
        check=POSITIVE,
    )
    epcis_max_per_page: int = _setting(
        1000, "Most events in one page of an EPCIS query; larger perPage values are capped."
    )
    epcis_subscriptions_max: int = _setting(
        20,
        "Most named queries, most subscriptions, and most WebSocket subscriptions open on one "
        "server process, per organisation: each stream subscription is one query in every "
        "capture's transaction, each open socket one query per poll.",
        check=POSITIVE,
    )
    epcis_schedule_utc_offset: str = _setting(
        "+08:00",
        "The UTC offset query schedules are read at (their hour, day and so on), like +08:00.",
    )
    epcis_stream_poll_ms: int = _setting(
        1000,
        "Milliseconds between two looks for new events on an open WebSocket subscription.",
        check=POSITIVE,
    )
    allow_local_public_url: int = _setting(
        0,
        "1: label files, exports and downloads may carry a loopback PUBLIC_URL (tests, the "
        "demo). 0: they are refused, since a label printed with 127.0.0.1 is worthless and "
        "cannot be recalled.",
        check=FLAG,
    )
    outbound_allow_private: int = _setting(
        0,
        "1: tenants' outbound URLs (webhooks) may be http and point at loopback and private "
        "addresses - for development and tests only. 0: https to public addresses only.",
        check=FLAG,
    )
    analytics_min_cell: int = _setting(
        5,
        "Analytics counts below this (but above 0) are shown as '<N' to anyone but the brand "
        "that owns them, so no single consumer can be singled out (docs/analytics.md).",
    )
    analytics_hotspot_z: int = _setting(
        4,
        "A region and product is a hot spot when a week's figure (suspicious rate, repeat "
        "rate, not-found count) lies this many robust standard deviations above its median "
        "of the 8 weeks before (docs/analytics.md).",
        check=POSITIVE,
    )
    analytics_hotspot_min_scans: int = _setting(
        20,
        "Scans a region and product needs in the week for its rates to be judged as a hot "
        "spot: fewer say nothing but chance.",
        check=POSITIVE,
    )
    analytics_hotspot_alerts: int = _setting(
        1,
        "1: each brand's hot spots of a finished week are raised as alerts; 0: listed only.",
        FLAG,
    )
    scan_retention_days: int = _setting(
        0,
        "Raw scan rows older than this many days are dropped by `traceseal scans prune` and "
        "the server once a day; the rollups stay (docs/analytics.md). 0 keeps them forever.",
        check=NATURAL,
    )
    client_salt_days: int = _setting(
        30,
        "Days each salt of the client address and device hashes is used; a pruned period's "
        "salt is deleted with its scans (docs/analytics.md). 0: one key for ever.",
        check=NATURAL,
    )
    scan_partitions_ahead: int = _setting(
        3,
        "PostgreSQL: months of scan-log partitions kept created ahead of the current one "
        "(docs/scaling.md); a DEFAULT partition catches anything outside them.",
    )
    verify_synchronous_commit: int = _setting(
        1,
        "PostgreSQL: 1, a verification's answer waits until its scan is on disk; 0, its "
        "commit returns before the WAL is flushed (synchronous_commit off for that "
        "transaction only), like SQLite's synchronous=NORMAL: a crash of the application "
        "loses nothing, a crash of the database server can lose the last fraction of a "
        "second of scans, never part of one. Everything else always waits (docs/benchmarks.md).",
        check=FLAG,
    )
    verify_on_event_loop: str = _setting(
        "auto",
        "PostgreSQL: auto, verify on the event loop if the database is on this host (a "
        "loopback address or Unix socket), else in the thread pool; 1, on the loop; 0, in "
        "the pool. On the loop a wait for a lock over 20 ms or a statement over 200 ms "
        "sends the verification to the pool (docs/verification.md).",
        check=("auto", "0", "1"),
    )
    risk_evaluation: int = _setting(
        1,
        "1: every verification of an active code is checked for diversion and cloning "
        "(docs/logistics.md); 0: off (bench/verify.py compares the two).",
        check=FLAG,
    )
    risk_threshold: int = _setting(
        50,
        "Clone risk score (0-100) at which a verification answers suspicious and a clone "
        "alert is raised.",
    )
    clone_device_limit: int = _setting(
        5,
        "Distinct devices querying one code at which the many_devices signal fires.",
        check=POSITIVE,
    )
    impossible_travel_kmh: int = _setting(
        500,
        "Speed between two placed scans of one code above which the impossible_travel "
        "signal fires (scans at least 100 km apart).",
        check=POSITIVE,
    )
    diversion_threshold: int = _setting(
        100,
        "Diversion evidence at which a diversion alert is raised; each scan outside the "
        "expected territory adds DIVERSION_TRADE_WEIGHT or DIVERSION_CONSUMER_WEIGHT.",
        check=POSITIVE,
    )
    diversion_trade_weight: int = _setting(
        100,
        "Evidence of one authenticated retail or distributor scan outside the territory.",
        check=POSITIVE,
    )
    diversion_consumer_weight: int = _setting(
        50,
        "Evidence of one consumer scan (a device not seen before) outside the territory.",
        check=POSITIVE,
    )
    sequential_burst_threshold: int = _setting(
        20,
        "First queries of codes within one block of 1,000 consecutive codes from one client "
        "within SEQUENTIAL_BURST_WINDOW that raise a sequential_burst alert. 0: off.",
        check=NATURAL,
    )
    sequential_burst_window: int = _setting(
        3600,
        "Length in seconds of the window SEQUENTIAL_BURST_THRESHOLD counts in.",
        check=POSITIVE,
    )
    ip_regions_file: Path | None = _setting(
        None,
        "CSV of cidr,region lines (GB/T 2260 codes) placing scans by client address when "
        "they carry no region or coordinates. Read at start; empty: none.",
    )
    webhook_max_attempts: int = _setting(
        8,
        "Attempts to deliver one alert to a webhook before it is marked failed.",
        check=POSITIVE,
    )
    webhook_retry_base: int = _setting(
        30,
        "Seconds before the second delivery attempt; each later wait doubles (capped at "
        "six hours).",
        check=POSITIVE,
    )
    webhook_timeout: int = _setting(10, "Seconds one webhook request may take.", POSITIVE)
    sms_provider: str = _setting(
        "none",
        "Who sends SMS replies: none (replies are only recorded), aliyun (Alibaba Cloud "
        "SendSms) or tencent (Tencent Cloud SendSms). docs/channels.md.",
    )
    sms_endpoint: str = _setting(
        "",
        "Base URL of the SMS provider's API, replacing its public host (a proxy, a test "
        "server). Empty: https://dysmsapi.aliyuncs.com or https://sms.tencentcloudapi.com.",
    )
    sms_template: str = _setting(
        "",
        "The approved SMS template's id (Alibaba's TemplateCode, Tencent's TemplateId). Its "
        "parameters: result (the verdict sentence) and product (the product's name).",
    )
    sms_sign_name: str = _setting("", "The approved SMS signature (签名) the replies carry.")
    sms_access_key_id: str = _setting(
        "", "The provider's AccessKey ID (Alibaba) or SecretId (Tencent)."
    )
    sms_access_key_secret: str = _setting(
        "", "The provider's AccessKey secret (Alibaba) or SecretKey (Tencent)."
    )
    sms_app_id: str = _setting("", "Tencent Cloud's SmsSdkAppId (not used by Alibaba).")
    sms_max_attempts: int = _setting(
        6,
        "Attempts to send one SMS reply before it is marked failed.",
        check=POSITIVE,
    )
    sms_retry_base: int = _setting(
        10,
        "Seconds before the second attempt to send an SMS reply; each later wait doubles.",
        check=POSITIVE,
    )
    wechat_token: str = _setting(
        "",
        "The Token set in the WeChat official account's server configuration. Empty: the "
        "WeChat channel answers 404.",
    )
    wechat_app_id: str = _setting("", "The official account's AppID.")
    wechat_app_secret: str = _setting(
        "", "The official account's AppSecret (for the JS-SDK's access_token)."
    )
    wechat_aes_key: str = _setting(
        "",
        "The 43-character EncodingAESKey of safe mode (安全模式). Empty: plaintext mode.",
    )
    wechat_api_base: str = _setting(
        "https://api.weixin.qq.com",
        "Base URL of WeChat's API (access_token, jsapi_ticket); tests point it at a fake.",
    )

    ivr_prompts_dir: Path | None = _setting(
        None,
        "A directory of recorded telephone prompts (<lang>/<name>.wav) that replace the "
        "synthesised ones name by name in `traceseal ivr prompts`. docs/channels.md.",
    )
    ivr_english_numbers: str = _setting(
        "",
        "Called numbers (comma-separated, as the dialplan's extension or DNID) whose calls "
        "are answered in English; every other call starts in Mandarin with a "
        "'press 2 for English' menu.",
    )
    ivr_digit_timeout: int = _setting(
        10,
        "Seconds a caller has to key in the code (GET DATA's timeout) before a retry.",
        check=POSITIVE,
    )

    metrics_token: str = _setting(
        "",
        "Bearer token a Prometheus scraper sends to read /metrics from anywhere "
        "(Authorization: Bearer <token>). Empty: only METRICS_NETWORKS may read it.",
    )
    metrics_networks: str = _setting(
        "127.0.0.0/8,::1/128",
        "Comma-separated client networks that may read /metrics without the token; empty: "
        "none. Anyone else is answered 404. docs/operations.md.",
    )
    log_format: str = _setting(
        "json",
        "How `traceseal serve` writes its logs on stderr: json (one object a line, with the "
        "request id) or text.",
        check=("json", "text"),
    )
    console_session_idle: int = _setting(
        1800,
        "Seconds a console session may go unused before it ends and its person must sign in "
        "again (docs/consoles.md).",
        check=POSITIVE,
    )
    console_session_absolute: int = _setting(
        43_200,
        "Seconds a console session lasts at most from sign-in, however busy (12 hours).",
        check=POSITIVE,
    )
    console_backoff_after: int = _setting(
        3,
        "Failed console sign-ins in a row for one email or mobile number before each further "
        "attempt must wait: 1 s after this many, then 2, 4, 8 ... seconds.",
        check=POSITIVE,
    )
    console_lockout_threshold: int = _setting(
        10,
        "Failed console sign-ins in a row for one email or mobile number after which it is "
        "locked for CONSOLE_LOCKOUT_SECONDS (five times as many from one address lock that "
        "address). The answer is the same whether the account exists or not.",
        check=POSITIVE,
    )
    console_lockout_seconds: int = _setting(
        900,
        "Seconds a locked sign-in name (or address) is refused before it may try again.",
        check=POSITIVE,
    )
    console_reset_link_ttl: int = _setting(
        86_400,
        "Seconds an operator-issued password reset link works (once) before it expires.",
        check=POSITIVE,
    )
    console_smtp_url: str = _setting(
        "",
        "Mail server that sends console reset and invitation links to people with an email "
        "address: smtps://user:password@host:465 (TLS), smtp://user:password@host:587 "
        "(STARTTLS, required), or smtp+insecure://host:25 (a local relay, no TLS). Empty: "
        "links are only shown to whoever issues them.",
    )
    console_mail_from: str = _setting(
        "", "Sender address of the console's mails (required with CONSOLE_SMTP_URL)."
    )
    console_insecure_cookies: int = _setting(
        0,
        "1: console cookies are sent over plain http too and lose their __Host- prefix - for "
        "a local set-up on http://127.0.0.1 only. 0: Secure cookies (the console then needs "
        "https, as PUBLIC_URL should be in production).",
        check=FLAG,
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'traceseal.db').as_posix()}"

    @property
    def resolved_ledger_origin(self) -> str:
        if self.ledger_origin:
            return self.ledger_origin
        return f"{urlsplit(self.public_url).netloc}/log"

    @property
    def resolved_ledger_witnesses(self) -> tuple[tuple[Verifier, str], ...]:
        """Each configured witness: its verifier key and its URL."""
        return parse_witnesses(self.ledger_witnesses)

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_metrics_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.metrics_networks)

    @property
    def outbound_policy(self) -> Policy:
        """How tenants' outbound URLs are checked (traceseal.outbound)."""
        return Policy(allow_private=bool(self.outbound_allow_private))

    @property
    def public_url_is_local(self) -> bool:
        """Whether PUBLIC_URL names this machine only (loopback, or localhost)."""
        return is_local_host(urlsplit(self.public_url).hostname or "")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        _env_name(f.name),
        "" if f.default is None else str(f.default),
        f.metadata["help"],
    )
    for f in dataclasses.fields(Settings)
)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``) plus explicit overrides.

    Unknown ``TRACESEAL_*`` variables are an error: a misspelt setting silently ignored is
    how a production system ends up on its defaults.
    """
    if env is None:
        import os

        env = os.environ
    known = {_env_name(f.name): f for f in dataclasses.fields(Settings)}
    # Variables that belong to the test harness, not to the application.
    harness = {"TRACESEAL_TEST_POSTGRES_URL"}
    unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known.keys() | harness)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}; see docs/settings.md")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name in env:
            parser = PARSERS[str(f.type)]
            try:
                values[f.name] = parser(env[name])
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from exc
    values.update(overrides)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    check_values(settings)
    for f in dataclasses.fields(settings):
        check = f.metadata.get("check")
        value = getattr(settings, f.name)
        if check == POSITIVE and value < 1:
            raise SettingsError(f"{_env_name(f.name)} must be positive")
        if check == FLAG and value not in (0, 1):
            raise SettingsError(f"{_env_name(f.name)} must be 0 or 1")
        if check == NATURAL and value < 0:
            raise SettingsError(f"{_env_name(f.name)} must be 0 or positive")
        if isinstance(check, tuple) and value not in check:
            allowed = f"{', '.join(check[:-1])} or {check[-1]}"
            raise SettingsError(f"{_env_name(f.name)} must be {allowed}")
