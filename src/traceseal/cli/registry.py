"""products add / list, batches add / list."""

from __future__ import annotations

from datetime import date

import typer
from pydantic import ValidationError

from traceseal.cli.common import JsonOption, emit, fail, fail_invalid, operator, session
from traceseal.orgs.service import find_organization
from traceseal.registry import service
from traceseal.registry.schemas import BatchCreate, BatchRead, ProductCreate, ProductRead

products = typer.Typer(help="Products (by GTIN).", no_args_is_help=True)
batches = typer.Typer(help="Production batches (lots) of a product.", no_args_is_help=True)


@products.command("add")
def add_product(
    org: str = typer.Option(..., help="Owning enterprise: id or name."),
    gtin: str = typer.Option(..., help="GTIN-8/12/13/14 (check digit verified)."),
    name: str = typer.Option(..., help="Product name."),
    brand: str = typer.Option("", help="Brand."),
    category: str = typer.Option("", help="Category."),
    specification: str = typer.Option("", help="Specification (size, model...)."),
    image_url: str = typer.Option("", help="Image URL for the verification page."),
    scan_limit: int = typer.Option(5, help="Queries of one code above this are suspicious."),
    as_json: bool = JsonOption,
) -> None:
    """Register a product."""
    try:
        data = ProductCreate(
            gtin=gtin,
            name=name,
            brand=brand,
            category=category,
            specification=specification,
            image_url=image_url,
            scan_limit=scan_limit,
        )
    except ValidationError as exc:
        fail_invalid(exc)
    with session() as db:
        product = service.add_product(db, find_organization(db, org), data)
        out = ProductRead.model_validate(product).model_dump(mode="json")
    emit(as_json, out, f"registered GTIN {out['gtin']}: {out['name']}")


@products.command("list")
def list_products(
    org: str = typer.Option(..., help="Enterprise: id or name."), as_json: bool = JsonOption
) -> None:
    """List an enterprise's products."""
    with session() as db:
        owner = find_organization(db, org)
        rows = [
            ProductRead.model_validate(p).model_dump(mode="json")
            for p in service.list_products(db, owner, limit=100_000)
        ]
    emit(as_json, {"products": rows}, "\n".join(f"{r['gtin']}  {r['name']}" for r in rows))


@batches.command("add")
def add_batch(
    product: str = typer.Option(..., help="GTIN of the product."),
    lot: str = typer.Option(..., help="Batch/lot number (GS1 AI 10)."),
    production_date: str | None = typer.Option(None, help="YYYY-MM-DD."),
    expiry: str | None = typer.Option(None, help="Expiry date, YYYY-MM-DD."),
    quantity: int | None = typer.Option(None, help="Units in the batch."),
    as_json: bool = JsonOption,
) -> None:
    """Add a batch to a product."""
    try:
        data = BatchCreate(
            lot=lot,
            production_date=date.fromisoformat(production_date) if production_date else None,
            expiry_date=date.fromisoformat(expiry) if expiry else None,
            quantity=quantity,
        )
    except ValidationError as exc:
        fail_invalid(exc)
    except ValueError as exc:
        fail(f"dates are YYYY-MM-DD: {exc}")
    with session() as db:
        item = service.get_product(db, operator(db), product)
        out = BatchRead.model_validate(
            service.batch_read(service.add_batch(db, item, data))
        ).model_dump(mode="json")
    emit(as_json, out, f"added lot {out['lot']} to GTIN {out['gtin']}")


@batches.command("list")
def list_batches(
    product: str = typer.Option(..., help="GTIN."), as_json: bool = JsonOption
) -> None:
    """List a product's batches."""
    with session() as db:
        item = service.get_product(db, operator(db), product)
        rows = [
            BatchRead.model_validate(service.batch_read(b)).model_dump(mode="json")
            for b in service.list_batches(db, item)
        ]
    emit(
        as_json,
        {"batches": rows},
        "\n".join(f"{r['lot']}  {r['production_date'] or ''}" for r in rows),
    )
