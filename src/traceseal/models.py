"""Every table, imported in one place so Alembic and tests see the whole schema."""

from traceseal.codes.models import CodeRun, CodeSegment, KeySlot
from traceseal.db import Base
from traceseal.orgs.models import ApiKey, Organization
from traceseal.registry.models import Batch, Product

__all__ = [
    "ApiKey",
    "Base",
    "Batch",
    "CodeRun",
    "CodeSegment",
    "KeySlot",
    "Organization",
    "Product",
]
