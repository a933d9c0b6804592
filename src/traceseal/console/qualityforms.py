"""What the lab's and the regulator's record forms share: reading a form into the API's
schema, the PDF upload, the optional detached signature, and the services' messages in
zh-CN.

Signing: by default the platform signs a record with the organisation's managed key
(docs/quality.md), as the API does when a request carries no signature. An organisation
that keeps its own key chooses it on the form and pastes its signature; sent without
one, the form shows the exact bytes to sign (the service's own answer to a signature
that does not verify) and keeps every other field, so the person signs and submits again.
"""

from __future__ import annotations

import ast
import base64
import re
from collections.abc import Callable
from typing import Any

from fastapi import UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session

from traceseal.console.words import say
from traceseal.errors import DomainError, InvalidInput
from traceseal.orgs.models import Organization
from traceseal.quality import service
from traceseal.quality.attachments import NotAPdf
from traceseal.quality.models import QualityRecord, SigningKey
from traceseal.quality.schemas import DetachedSignature
from traceseal.quality.signing import list_keys

#: A signature that never verifies: sent when a person chose their own key but has not
#: signed yet, so the service answers with the bytes it expects.
_UNSIGNED = base64.b64encode(bytes(64)).decode()
_EXPECTED = re.compile(r"the signature does not verify with key \d+ over (.+)", re.S)

_ZH: dict[str, str] = {
    "scope: give gtins or categories (or both)": "请填写适用的产品条码或产品类别（至少一项）",
    "valid_until is before valid_from": "有效期截止日期早于起始日期",
    "give the product's gtin (and lot) or describe the sample": (
        "请填写产品条码（及批号）或描述样品"
    ),
    "a lot needs its gtin": "填写批号时必须同时填写产品条码",
    "Field required": "此项必填",
    "an Ed25519 signature is 64 bytes in base64": "Ed25519 签名应为 64 字节的 Base64 文本",
    "public_key must be a raw 32-byte Ed25519 public key in base64": (
        "公钥应为 32 字节 Ed25519 原始公钥的 Base64 文本"
    ),
    "this public key is already registered": "该公钥已经登记过",
    "choose a PDF file": "请选择 PDF 文件",
    "a date is YYYY-MM-DD": "日期格式应为 YYYY-MM-DD",
}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"no product with GTIN (\d+)"), r"找不到条码为 \1 的产品"),
    (re.compile(r"GTIN (\d+) is not a product of (.+)"), r"条码 \1 不是 \2 的产品"),
    (re.compile(r"GTIN (\d+) has no lot '(.*)'"), r"条码 \1 没有批号 \2"),
    (re.compile(r"you already issued \w+ '(.*)' \(record \d+\)"), r"编号 \1 已经用过"),
    (re.compile(r"certificate (.+) is withdrawn for good"), r"证书 \1 已撤销，不能再变更"),
    (re.compile(r"certificate (.+) is already (\w+)"), r"证书 \1 已经是该状态"),
    (re.compile(r"no enterprise \d+"), "找不到该企业"),
    (re.compile(r"key \d+ is revoked"), "该密钥已停用"),
    (re.compile(r"your organisation has no key \d+"), "本机构没有该密钥"),
    (re.compile(r"attachments are at most ([\d,]+) bytes"), r"附件最大 \1 字节"),
    (re.compile(r"you uploaded no attachment .*"), "找不到本机构上传的该附件，请重新上传"),
    (re.compile(r"(?:String|List) should have at most (\d+) (?:characters|items)"), r"最多 \1 个"),
    (re.compile(r"String should have at least 1 character"), "此项必填"),
    (re.compile(r"Input should be a valid date.*"), "日期格式应为 YYYY-MM-DD"),
    (re.compile(r"Input should be .*"), "请从选项中选择"),
]


def words(detail: str, zh: bool) -> str:
    """A service's or a schema's message in the page's language (English otherwise)."""
    if not zh:
        return detail
    if detail in _ZH:
        return _ZH[detail]
    for pattern, said in _PATTERNS:
        if pattern.fullmatch(detail):
            return pattern.sub(said, detail)
    return say(detail, zh)


def schema_errors(exc: ValidationError, zh: bool, fallback: str) -> dict[str, str]:
    """A schema's refusals beside their fields; whole-form ones beside ``fallback``."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else fallback
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(where, words(message, zh))
    return errors


def lines(text: str) -> list[str]:
    """A list field typed one per line (or separated by ; as in the CSV import)."""
    return [part.strip() for part in re.split(r"[\n;；]", text) if part.strip()]


async def read_upload(upload: UploadFile | None, max_bytes: int) -> bytes | None:
    """The file's bytes, or None when none was chosen. Reads at most one byte over the
    limit, so an oversized file is refused by the store's own check with its message."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(max_bytes + 1)
    return data or None


def store_upload(
    db: Session, issuing: service.Issuing, org: Organization, data: bytes, lang: str
) -> str:
    """The SHA-256 of the uploaded PDF; DomainError (field ``attachment``) in ``lang``."""
    try:
        return service.upload_attachment(db, issuing, org, data)
    except NotAPdf as exc:
        raise exc.said_in(lang) from None


def active_keys(db: Session, org: Organization) -> list[SigningKey]:
    """The organisation's own keys that still sign (managed keys sign without a choice)."""
    return [k for k in list_keys(db, org.id) if not k.managed and k.revoked_at is None]


def detached(key: str, value: str) -> DetachedSignature | None:
    """The form's signature: None for the platform's managed key."""
    if not key.isdigit():
        return None
    return DetachedSignature(key=int(key), value=value.strip() or _UNSIGNED)


def attempt(
    db: Session, write: Callable[[], QualityRecord], zh: bool, fallback: str
) -> tuple[QualityRecord | None, dict[str, str], str]:
    """Run one service write in a savepoint: (record, {}, "") or (None, errors, to_sign).

    ``to_sign`` is the exact text a detached signature must cover, when the one given
    (or none) does not verify."""
    try:
        with db.begin_nested():
            return write(), {}, ""
    except DomainError as exc:
        found = _EXPECTED.fullmatch(exc.detail)
        if found is not None:
            try:
                expected = str(ast.literal_eval(found.group(1)))
            except (ValueError, SyntaxError):
                expected = found.group(1)
            message = (
                "请用所选密钥对下方文本签名，并粘贴签名。"
                if zh
                else "Sign the text below with the chosen key and paste the signature."
            )
            return None, {"signature": message}, expected
        return None, {exc.field or fallback: words(exc.detail, zh)}, ""


def form_error(exc: InvalidInput | DomainError, zh: bool, fallback: str) -> dict[str, str]:
    return {exc.field or fallback: words(exc.detail, zh)}


def key_read(key: SigningKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "public_key": base64.b64encode(key.public_key).decode(),
        "managed": key.managed,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
