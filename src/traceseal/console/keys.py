"""An organisation's API keys and its alert webhook, for its admins (any kind of
organisation: labs, distributors and regulators use keys too).

The same services as ``/api/v1/orgs/me/keys`` and ``/api/v1/alerts/webhook``; a secret (a
new key, a webhook's signing secret) is shown once, on the answer to the form that made
it, and never stored in the clear, logged or audited. The webhook page is for the kinds
the API lets set one (brands, regulators, the operator): the alerts it would carry are
theirs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from traceseal.alerts import webhooks
from traceseal.alerts.deliveries import recent_deliveries
from traceseal.alerts.models import Webhook
from traceseal.codes.deps import KeyringDep
from traceseal.console.deps import AdminDep, ConsoleError, Viewer, check_csrf
from traceseal.console.menu import MenuItem
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.orgs.models import ApiKey, KeyScope, Role
from traceseal.orgs.service import create_key, list_keys, revoke_key
from traceseal.people import audit
from traceseal.web.deps import PathId, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

#: The kinds whose alerts a webhook carries (alerts/api.py's rule for setting one).
HOOKED = frozenset({Role.ENTERPRISE, Role.REGULATOR, Role.OPERATOR})

MENU = (
    MenuItem("/console/keys", "API 密钥", "API keys", admin=True, order=84),
    MenuItem("/console/webhooks", "告警推送", "Webhook", HOOKED, admin=True, order=85),
)

Short = Annotated[str, Form(max_length=100)]


def _keys_page(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    keys = list_keys(db, viewer.org)
    context = {
        # Live keys first, newest first; revoked ones after, as a record.
        "keys": sorted(keys, key=lambda k: (k.revoked_at is not None, -k.id)),
        "form": form or {"scope": "member"},
        "errors": errors or {},
        "done": request.query_params.get("done", ""),
    }
    return page(request, "partners/keys.html", context, viewer=viewer, status=status)


@router.get("/console/keys")
def keys(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    return _keys_page(request, viewer, db)


@router.post("/console/keys/new")
def new_key(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    label: Short = "",
    scope: Annotated[str, Form(max_length=10)] = "",
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {"label": label, "scope": scope, "expires": expires}
    errors: dict[str, str] = {}
    if not label.strip():
        errors["label"] = "give the key a name that says what it is for"
    if scope not in (KeyScope.ADMIN.value, KeyScope.MEMBER.value):
        errors["scope"] = "choose what the key may do"
    expires_at = None
    if expires:
        try:
            # The key works through the day named, to its end in UTC.
            expires_at = datetime.combine(date.fromisoformat(expires), time.max, UTC)
        except ValueError:
            errors["expires"] = "a date is YYYY-MM-DD"
    if errors:
        return _keys_page(request, viewer, db, form=form, errors=errors, status=422)
    try:
        token, key = create_key(db, viewer.org, label, scope=KeyScope(scope), expires_at=expires_at)
    except DomainError as exc:
        errors[{"expires_at": "expires"}.get(exc.field or "", "label")] = exc.detail
        return _keys_page(request, viewer, db, form=form, errors=errors, status=422)
    audit.record(
        db,
        viewer.actor,
        "api_key.create",
        organization_id=viewer.org.id,
        target=f"API key {key.prefix}… ({key.label})",
        details={"scope": key.scope, "expires_at": expires or None},
    )
    return page(request, "partners/key_created.html", {"key": key, "token": token}, viewer=viewer)


def _key(db: SessionDep, viewer: Viewer, key_id: int) -> ApiKey:
    key = db.get(ApiKey, key_id)
    if key is None or key.organization_id != viewer.org.id:
        raise ConsoleError(404, "no such key")
    return key


@router.get("/console/keys/{key_id}/revoke")
def revoke_form(request: Request, viewer: AdminDep, db: SessionDep, key_id: PathId) -> Response:
    key = _key(db, viewer, key_id)
    return page(request, "partners/key_revoke.html", {"key": key}, viewer=viewer)


@router.post("/console/keys/{key_id}/revoke")
def revoke(request: Request, viewer: AdminDep, db: SessionDep, key_id: PathId) -> Response:
    key = _key(db, viewer, key_id)
    try:
        revoke_key(db, viewer.org, key.id)
    except NotFound:
        raise ConsoleError(404, "no such key") from None
    audit.record(
        db,
        viewer.actor,
        "api_key.revoke",
        organization_id=viewer.org.id,
        target=f"API key {key.prefix}… ({key.label})",
    )
    return see_other(request, "/console/keys?done=revoked")


# --- the webhook ------------------------------------------------------------------------


def _hooked(viewer: AdminDep) -> Viewer:
    if viewer.kind not in HOOKED:
        raise ConsoleError(403, "kind")
    return viewer


HookAdminDep = Annotated[Viewer, Depends(_hooked)]


def _hook_page(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    hook = db.get(Webhook, viewer.org.id)
    context = {
        "hook": hook,
        "deliveries": recent_deliveries(db, viewer.org),
        "form": form or {"url": hook.url if hook else ""},
        "errors": errors or {},
        "done": request.query_params.get("done", ""),
    }
    return page(request, "partners/webhook.html", context, viewer=viewer, status=status)


@router.get("/console/webhooks")
def webhook(request: Request, viewer: HookAdminDep, db: SessionDep) -> Response:
    return _hook_page(request, viewer, db)


@router.post("/console/webhooks")
def set_webhook(
    request: Request,
    viewer: HookAdminDep,
    db: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    form = {"url": url}
    if not url.strip():
        errors = {"url": "give the address alerts are sent to"}
        return _hook_page(request, viewer, db, form=form, errors=errors, status=422)
    replaced = db.get(Webhook, viewer.org.id) is not None
    try:
        # The secret is always made here: one typed into a form could be weak or reused.
        hook, secret = webhooks.set_webhook(
            db, keyring, viewer.org, url.strip(), None, settings.outbound_policy
        )
    except DomainError as exc:
        errors = {"url": exc.detail}
        return _hook_page(request, viewer, db, form=form, errors=errors, status=422)
    audit.record(
        db,
        viewer.actor,
        "webhook.set",
        organization_id=viewer.org.id,
        target=hook.url,
        details={"replaced": replaced},
    )
    context = {"hook": hook, "secret": secret}
    return page(request, "partners/webhook_set.html", context, viewer=viewer)


@router.post("/console/webhooks/delete")
def delete_webhook(request: Request, viewer: HookAdminDep, db: SessionDep) -> Response:
    hook = db.get(Webhook, viewer.org.id)
    if hook is None:
        return see_other(request, "/console/webhooks?done=none")
    url = hook.url
    webhooks.delete_webhook(db, viewer.org)
    audit.record(db, viewer.actor, "webhook.delete", organization_id=viewer.org.id, target=url)
    return see_other(request, "/console/webhooks?done=deleted")
