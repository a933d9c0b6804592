"""A brand's products and their batches (lots): list, find, add, edit.

The pages call the registry's services (registry/service.py), the same as
``/api/v1/products``: a product is looked up within the viewer's organisation, so another
brand's GTIN answers 404 exactly as one nobody registered. Every write is audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.console.catalogue_words import field_errors, say
from traceseal.console.deps import BrandDep, ConsoleError, Viewer, check_csrf, console_language
from traceseal.console.menu import brand
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.people import audit
from traceseal.registry import service
from traceseal.registry.gtin import normalize_gtin
from traceseal.registry.models import DEFAULT_SCAN_LIMIT, Product
from traceseal.registry.schemas import BatchCreate, ProductCreate, ProductUpdate
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/products", "产品", "Products", order=10),)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Find = Annotated[str, Query(max_length=100)]
Short = Annotated[str, Form(max_length=300)]
Long = Annotated[str, Form(max_length=600)]
#: The fields of the product form, in its order.
PRODUCT_FIELDS = ("name", "brand", "category", "specification", "scan_limit")


def zh_of(request: Request) -> bool:
    return console_language(request) == "zh-CN"


def worded(errors: dict[str, str], zh: bool) -> dict[str, str]:
    """Errors in the page's language (the template's ``say`` leaves them as they are)."""
    return {name: say(detail, zh) for name, detail in errors.items()}


def own_product(db: Session, viewer: Viewer, gtin: str) -> Product:
    """The viewer's product, or the 404 page: another brand's answers as a missing one."""
    try:
        return service.get_product(db, viewer.org, gtin)
    except NotFound:
        raise ConsoleError(404, "not found") from None


def _whole(value: str, name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        errors[name] = f"give a whole number from {low:,} to {high:,}"
        return None
    return int(text)


@router.get("/console/products")
def products(
    request: Request, viewer: BrandDep, db: SessionDep, before: Before = None, q: Find = ""
) -> Response:
    rows, older = service.find_products(db, viewer.org, query=q, before=before)

    def link(**changes: object) -> str:
        params = {"q": q} if q else {}
        params |= {k: str(v) for k, v in changes.items() if v}
        return "/console/products" + (f"?{urlencode(params)}" if params else "")

    context = {
        "rows": rows,
        "batches": service.count_batches(db, [p.id for p in rows]),
        "q": q,
        "older": link(before=older) if older else None,
        "first": link() if before else None,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "catalogue/products.html", context, viewer=viewer)


@router.get("/console/products/new")
def new_product_form(request: Request, viewer: BrandDep) -> Response:
    form = {"scan_limit": str(DEFAULT_SCAN_LIMIT)}
    context = {"errors": {}, "form": form}
    return page(request, "catalogue/product_new.html", context, viewer=viewer)


@router.post("/console/products/new")
def new_product(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    gtin: Annotated[str, Form(max_length=40)] = "",
    name: Short = "",
    brand: Short = "",
    category: Short = "",
    specification: Long = "",
    scan_limit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {
        "gtin": gtin,
        "name": name,
        "brand": brand,
        "category": category,
        "specification": specification,
        "scan_limit": scan_limit,
    }
    errors: dict[str, str] = {}
    limit = _whole(scan_limit, "scan_limit", 1, 1000, errors)
    if not gtin.strip():
        errors["gtin"] = "fill this in"
    product = None
    if not errors:
        try:
            data = ProductCreate(
                gtin=gtin.strip(),
                name=name.strip(),
                brand=brand.strip(),
                category=category.strip(),
                specification=specification.strip(),
                scan_limit=limit or DEFAULT_SCAN_LIMIT,
            )
            product = service.add_product(db, viewer.org, data)
        except ValidationError as exc:
            errors = field_errors(exc)
            # The form's other fields are checked first: say what is wrong with the GTIN too.
            try:
                normalize_gtin(gtin)
            except DomainError as wrong:
                errors["gtin"] = wrong.detail
        except DomainError as exc:
            errors = {exc.field or "gtin": exc.detail}
    if product is None:
        context = {"errors": worded(errors, zh_of(request)), "form": form}
        return page(request, "catalogue/product_new.html", context, viewer=viewer, status=422)
    audit.record(
        db,
        viewer.actor,
        "product.create",
        organization_id=viewer.org.id,
        target=f"product {product.gtin} ({product.name})",
    )
    return see_other(request, f"/console/products/{product.gtin}?done=created")


def _product_page(
    request: Request,
    viewer: Viewer,
    product: Product,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    batches = sorted(product.batches, key=lambda b: b.id, reverse=True)
    shown = form or {name: getattr(product, name) for name in PRODUCT_FIELDS}
    context = {
        "product": product,
        "batches": batches,
        "form": shown,
        "errors": errors or {},
        "done": request.query_params.get("done", ""),
    }
    return page(request, "catalogue/product.html", context, viewer=viewer, status=status)


@router.get("/console/products/{gtin}")
def product_detail(request: Request, viewer: BrandDep, db: SessionDep, gtin: str) -> Response:
    return _product_page(request, viewer, own_product(db, viewer, gtin))


@router.post("/console/products/{gtin}")
def edit_product(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    gtin: str,
    name: Short = "",
    brand: Short = "",
    category: Short = "",
    specification: Long = "",
    scan_limit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    product = own_product(db, viewer, gtin)
    form = {
        "name": name,
        "brand": brand,
        "category": category,
        "specification": specification,
        "scan_limit": scan_limit,
    }
    errors: dict[str, str] = {}
    limit = _whole(scan_limit, "scan_limit", 1, 1000, errors)
    if limit is None and "scan_limit" not in errors:
        errors["scan_limit"] = "fill this in"
    if not errors:
        try:
            data = ProductUpdate(
                name=name.strip(),
                brand=brand.strip(),
                category=category.strip(),
                specification=specification.strip(),
                scan_limit=limit,
            )
        except ValidationError as exc:
            errors = field_errors(exc)
    if errors:
        zh = zh_of(request)
        return _product_page(
            request, viewer, product, form=form, errors=worded(errors, zh), status=422
        )
    before = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    service.update_product(db, product, data)
    changed = sorted(n for n in PRODUCT_FIELDS if getattr(product, n) != before[n])
    audit.record(
        db,
        viewer.actor,
        "product.update",
        organization_id=viewer.org.id,
        target=f"product {product.gtin} ({product.name})",
        details={"changed": changed},
    )
    return see_other(request, f"/console/products/{product.gtin}?done=saved")


@router.get("/console/products/{gtin}/batches/new")
def new_batch_form(request: Request, viewer: BrandDep, db: SessionDep, gtin: str) -> Response:
    product = own_product(db, viewer, gtin)
    context = {"product": product, "errors": {}, "form": {}}
    return page(request, "catalogue/batch_new.html", context, viewer=viewer)


@router.post("/console/products/{gtin}/batches/new")
def new_batch(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    gtin: str,
    lot: Annotated[str, Form(max_length=100)] = "",
    production_date: Annotated[str, Form(max_length=20)] = "",
    expiry_date: Annotated[str, Form(max_length=20)] = "",
    quantity: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    product = own_product(db, viewer, gtin)
    form = {
        "lot": lot,
        "production_date": production_date,
        "expiry_date": expiry_date,
        "quantity": quantity,
    }
    errors: dict[str, str] = {}
    count = _whole(quantity, "quantity", 0, MAX_ID, errors)
    batch = None
    if not errors:
        try:
            data = BatchCreate(
                lot=lot.strip(),
                production_date=production_date or None,
                expiry_date=expiry_date or None,
                quantity=count,
            )
            batch = service.add_batch(db, product, data)
        except ValidationError as exc:
            errors = field_errors(exc)
        except DomainError as exc:
            errors = {exc.field or "lot": exc.detail}
    if batch is None:
        context = {"product": product, "errors": worded(errors, zh_of(request)), "form": form}
        return page(request, "catalogue/batch_new.html", context, viewer=viewer, status=422)
    audit.record(
        db,
        viewer.actor,
        "batch.create",
        organization_id=viewer.org.id,
        target=f"batch {batch.lot} of product {product.gtin} ({product.name})",
    )
    path = f"/console/products/{product.gtin}"
    return see_other(request, f"{path}?done=batch&lot={quote(batch.lot)}#batches")
