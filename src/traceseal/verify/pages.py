"""The GS1 Digital Link resolver and the consumer pages: scan, type, see, report.

``/01/{gtin}[/10/{lot}]/21/{code}`` is what the label's QR code holds; ``/v/{code}`` is the
short form; ``/verify`` is the manual entry page. Each answers with HTML for people, JSON
(``Accept: application/json``) or an RFC 9264 linkset (``Accept: application/linkset+json``
or ``?linkType=linkset``) per the GS1-Conformant Resolver standard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from traceseal import __version__
from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.epcis.trace import journey
from traceseal.errors import InvalidInput, TooManyRequests
from traceseal.registry.gtin import normalize_gtin
from traceseal.registry.models import Product
from traceseal.verify import messages
from traceseal.verify.channel import Verifier
from traceseal.verify.deps import VerifierDep, request_client
from traceseal.verify.models import Channel, Verdict
from traceseal.verify.regions import region_name
from traceseal.verify.reports.api import THANKS, read_photo, report_body_limit
from traceseal.verify.reports.service import ReportInput
from traceseal.verify.schemas import QualitySection, VerificationRead
from traceseal.verify.service import Query, Verification
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import SessionDep
from traceseal.web.headers import PAGE_POLICY
from traceseal.web.negotiation import (
    client_ip,
    device_id,
    ensure_device_cookie,
    is_bot,
    language,
    page_device_id,
    representation,
)
from traceseal.web.problems import problem

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

GS1_VOC = "https://gs1.org/voc/"
LINKSET = "application/linkset+json"
_STYLES = {
    Verdict.GENUINE: "ok",
    Verdict.GENUINE_REPEAT: "ok",
    Verdict.RECALLED: "warn",
    Verdict.INACTIVE: "warn",
    Verdict.MISTYPED: "info",
    Verdict.SUSPICIOUS: "bad",
    Verdict.VOID: "bad",
    Verdict.NOT_FOUND: "bad",
}


#: WeChat's JS-SDK (for the scan button of the entry page opened inside WeChat).
WECHAT_SDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
WECHAT_PAGE_POLICY = PAGE_POLICY.replace(
    "script-src 'self'", "script-src 'self' https://res.wx.qq.com"
)


def _in_wechat(request: Request) -> bool:
    """A page opened in WeChat's browser, with the official account configured."""
    settings = request.app.state.settings
    agent = request.headers.get("user-agent", "")
    return "MicroMessenger" in agent and bool(settings.wechat_token and settings.wechat_app_id)


def _grouped(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def _public(request: Request) -> str:
    public_url: str = request.app.state.settings.public_url
    return public_url


def _links(request: Request, gtin: str | None, code: str, result: Verification) -> dict[str, Any]:
    """The RFC 9264 linkset for one item, with GS1 link types (GS1-Conformant Resolver 1.2)."""
    base = _public(request)
    anchor = f"{base}/01/{gtin}/21/{code}" if gtin else f"{base}/v/{code}"
    page = {"href": f"{base}/v/{code}", "type": "text/html", "hreflang": ["zh-CN", "en"]}
    links: dict[str, Any] = {
        "anchor": anchor,
        GS1_VOC + "verificationService": [{**page, "title": "防伪验证 / Verify this item"}],
        GS1_VOC + "defaultLink": [{**page, "title": "防伪验证 / Verify this item"}],
    }
    if gtin:
        links[GS1_VOC + "pip"] = [
            {
                "href": f"{base}/01/{gtin}",
                "title": "产品信息 / Product information",
                "type": "text/html",
                "hreflang": ["zh-CN", "en"],
            }
        ]
    if result.verdict is Verdict.RECALLED:
        links[GS1_VOC + "recallStatus"] = [
            {"href": f"{base}/v/{code}#recall", "title": "召回通知 / Recall notice"}
        ]
    elif gtin:
        links[GS1_VOC + "recallStatus"] = [
            {
                "href": f"{base}/api/v1/recalls?gtin={gtin}",
                "title": "召回状态 / Recall status",
                "type": "application/json",
            }
        ]
    if gtin:
        # The signed certificates, and the item's whole quality section on its page.
        links[GS1_VOC + "certificationInfo"] = [
            {
                "href": f"{base}/v/{code}#quality",
                "title": "质量信息 / Quality facts",
                "type": "text/html",
                "hreflang": ["zh-CN", "en"],
            },
            {
                "href": f"{base}/api/v1/certificates?gtin={gtin}",
                "title": "认证证书 / Certificates",
                "type": "application/json",
            },
        ]
    return {"linkset": [links]}


def _link_header(request: Request, gtin: str | None, code: str | None) -> str:
    base = _public(request)
    target = f"{base}/01/{gtin}/21/{code}" if gtin else f"{base}/v/{code}"
    return f'<{target}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'


def _error(
    request: Request, status: int, detail: str, *, says: str | None = None, **extra: Any
) -> Response:
    """A 4xx answer: an HTML page for people, problem details for programs.

    ``detail`` is for programs (technical, English); the page says ``says`` (a key of
    messages.page_error) in the reader's language, or ``detail`` when it is already worded
    for people (input errors, which are localised by the caller)."""
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    if representation(request, linkset_param=False) == "html":
        lang = language(request)
        if status == 429:
            says = "wait"
        text = messages.page_error(says, lang) if says else detail
        context = {"lang": lang, "status": status, "detail": text}
        return templates.TemplateResponse(
            request, "verify/error.html", context, status_code=status, headers=headers
        )
    titles = {400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
    response = problem(status, titles.get(status, "Error"), detail, type_="/problems/resolver")
    if headers:
        response.headers.update(headers)
    return response


def _answer(
    request: Request,
    verifier: Any,
    *,
    code: str,
    gtin: str | None = None,
    lot: str | None = None,
    channel: Channel = Channel.QR,
    invalid_status: int = 400,
) -> Response:
    lang = language(request)
    wanted = representation(request)
    # Browsers get a device id on the page that answers them; programs asking for JSON or
    # a linkset are told apart by their own cookie, if they keep one.
    device = page_device_id(request) if wanted == "html" else device_id(request)
    client = verifier.client(client_ip(request), device)
    query = Query(
        code=code,
        gtin=gtin,
        lot=lot,
        channel=channel,
        # A linkset asks what links exist, not whether the item is genuine.
        record=wanted != "linkset" and not is_bot(request),
    )
    try:
        verifier.throttle(client)
        result = verifier.verify(query, client)
    except TooManyRequests as exc:
        return _error(request, 429, exc.detail, retry_after=exc.retry_after)
    except InvalidInput as exc:
        return _error(
            request, invalid_status, exc.detail, says=None if exc.field == "code" else "bad_link"
        )
    bound_gtin = result.product.gtin if result.product else gtin
    if wanted == "linkset":
        return JSONResponse(
            _links(request, bound_gtin, result.code or code, result), media_type=LINKSET
        )
    headers = {"Vary": "Accept"}
    if result.code is not None:  # never echo what was typed into a header
        headers["Link"] = _link_header(request, bound_gtin, result.code)
    if wanted == "json":
        body = VerificationRead.of(result, lang).model_dump(mode="json")
        return JSONResponse(body, headers=headers)
    response = _result_page(request, result, lang, typed=code)
    response.headers.update(headers)
    return response


def _result_page(request: Request, result: Verification, lang: str, typed: str) -> Response:
    context = {
        "lang": lang,
        "r": result,
        "title": messages.title(result.verdict, lang),
        "message": messages.message(result, lang),
        "style": _STYLES[result.verdict],
        "code": _grouped(result.code) if result.code else typed,
        "first_at": messages.local_time(result.first_scan_at, lang),
        "first_region": region_name(result.first_region, lang),
        "can_report": result.code is not None,
        "journey": [
            {**step, "when": messages.local_time(step["time"], lang)}
            for step in (journey(result.trace, lang, names=result.places) if result.trace else [])
        ],
        # Shown only when there is something to show; the JSON always has the section.
        "quality": QualitySection.of(result, lang) if result.quality or result.recall else None,
        "version": __version__,
    }
    response = templates.TemplateResponse(request, "verify/result.html", context)
    ensure_device_cookie(request, response)
    return response


def _refuse_link(request: Request, verifier: Verifier, detail: str) -> Response:
    """400 for a path that is no valid Digital Link; it counts as a failed query."""
    try:
        verifier.tick_failure(request_client(request, verifier))
    except TooManyRequests as exc:
        return _error(request, 429, exc.detail, retry_after=exc.retry_after)
    return _error(request, 400, detail, says="bad_link")


def _gtin_or_400(request: Request, verifier: Verifier, raw: str) -> str | Response:
    try:
        return normalize_gtin(raw)
    except InvalidInput as exc:
        return _refuse_link(request, verifier, f"invalid Digital Link: {exc.detail}")


@router.api_route("/01/{gtin}/21/{serial}", methods=["GET", "HEAD"])
def digital_link(request: Request, verifier: VerifierDep, gtin: str, serial: str) -> Response:
    checked = _gtin_or_400(request, verifier, gtin)
    if isinstance(checked, Response):
        return checked
    return _answer(request, verifier, code=serial, gtin=checked)


@router.api_route("/01/{gtin}/10/{lot}/21/{serial}", methods=["GET", "HEAD"])
def digital_link_with_lot(
    request: Request, verifier: VerifierDep, gtin: str, lot: str, serial: str
) -> Response:
    checked = _gtin_or_400(request, verifier, gtin)
    if isinstance(checked, Response):
        return checked
    return _answer(request, verifier, code=serial, gtin=checked, lot=lot)


@router.api_route("/v/{code}", methods=["GET", "HEAD"])
def short_link(request: Request, verifier: VerifierDep, code: str) -> Response:
    return _answer(request, verifier, code=code)


@router.api_route("/01/{gtin}", methods=["GET", "HEAD"])
def product_page(request: Request, session: SessionDep, gtin: str) -> Response:
    """gs1:pip: what the product is, and where to type a code."""
    try:
        checked = normalize_gtin(gtin)
    except InvalidInput as exc:
        return _error(request, 400, f"invalid Digital Link: {exc.detail}", says="bad_link")
    product = session.scalar(select(Product).where(Product.gtin == checked))
    if product is None:
        return _error(
            request,
            404,
            f"no product with GTIN {checked} is registered here",
            says="unknown_product",
        )
    lang = language(request)
    facts = {
        "gtin": product.gtin,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "specification": product.specification,
        "organization": product.organization.name,
    }
    if representation(request) != "html":
        return JSONResponse(facts)
    return templates.TemplateResponse(
        request, "verify/entry.html", {"lang": lang, "product": facts, "error": None, "value": ""}
    )


@router.api_route("/01/{rest:path}", methods=["GET", "HEAD"])
def bad_digital_link(request: Request, verifier: VerifierDep, rest: str) -> Response:
    return _refuse_link(
        request,
        verifier,
        f"invalid Digital Link path /01/{rest}: expected /01/{{GTIN}}/21/{{code}} or "
        "/01/{GTIN}/10/{lot}/21/{code} (GS1 Digital Link key qualifiers in that order)",
    )


@router.api_route("/verify", methods=["GET", "HEAD"])
def entry(request: Request, verifier: VerifierDep) -> Response:
    """The manual entry page; with ``?code=`` it verifies what was typed (channel ``web``)."""
    typed = request.query_params.get("code")
    lang = language(request)
    if typed is None or not typed.strip():
        wechat = _in_wechat(request)
        response = templates.TemplateResponse(
            request,
            "verify/entry.html",
            {
                "lang": lang,
                "product": None,
                "error": None,
                "value": "",
                "wechat": wechat,
                "wechat_sdk": WECHAT_SDK,
            },
        )
        if wechat:
            # WeChat's JS-SDK is served only from WeChat's own host (its terms), and only
            # this page inside WeChat loads it.
            response.headers["Content-Security-Policy"] = WECHAT_PAGE_POLICY
        ensure_device_cookie(request, response)
        return response
    if representation(request, linkset_param=False) == "html":
        # Show a malformed entry back in the form with the reason, rather than an error page.
        try:
            parse_code(typed)
        except CodeFormatError as exc:
            if exc.reason == "malformed":
                try:
                    verifier.tick_failure(request_client(request, verifier))
                except TooManyRequests as limited:
                    return _error(request, 429, limited.detail, retry_after=limited.retry_after)
                error = messages.input_error("code", exc.detail, lang)
                context = {"lang": lang, "product": None, "error": error, "value": typed}
                return templates.TemplateResponse(
                    request, "verify/entry.html", context, status_code=400
                )
    return _answer(request, verifier, code=typed, channel=Channel.WEB)


@router.post("/report")
@body_limit(report_body_limit)
def report_form(
    request: Request,
    verifier: VerifierDep,
    code: Annotated[str, Form(max_length=64)],
    where_bought: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=10000)] = "",
    contact: Annotated[str, Form(max_length=1000)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The result page's report form (multipart). Same rules as ``POST /api/v1/reports``."""
    lang = language(request)
    client = request_client(request, verifier)
    try:
        verifier.throttle(client)
        data = ReportInput(
            code=code,
            where_bought=where_bought,
            description=description,
            contact=contact,
            photo=read_photo(photo, verifier.max_photo_bytes),
        )
        receipt = verifier.file_report(data, client)
    except TooManyRequests as exc:
        return _error(request, 429, exc.detail, retry_after=exc.retry_after)
    except InvalidInput as exc:
        # The form again, as it was filled in, with what to fix (the photo must be re-chosen:
        # browsers never pre-fill a file input).
        context: dict[str, Any] = {
            "lang": lang,
            "code": code,
            "error": messages.input_error(exc.field, exc.detail, lang),
            "values": {
                "where_bought": where_bought,
                "description": description,
                "contact": contact,
            },
        }
        return templates.TemplateResponse(request, "verify/report.html", context, status_code=422)
    context = {
        "lang": lang,
        "message": THANKS[lang],
        "report_id": receipt.id,
        "status_path": receipt.status_path,
        "status_url": request.app.state.settings.public_url + receipt.status_path,
        "code": code,
    }
    response = templates.TemplateResponse(request, "verify/thanks.html", context)
    # The receipt holds the status link's token: no cache keeps it, no Referer carries it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.api_route("/.well-known/gs1resolver", methods=["GET", "HEAD"])
def resolver_description(request: Request) -> JSONResponse:
    """The resolver description file (GS1-Conformant Resolver standard, section 3)."""
    return JSONResponse(
        {
            "name": "TraceSeal product verification resolver",
            "resolverRoot": _public(request),
            "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
            "linkTypeDefaultCanBeLinkset": False,
            "supportedContextValuesEnumerated": [],
            "supportedContextValuesExternal": [],
        }
    )


async def page_for_browsers(request: Request, status: int) -> Response | None:
    """The error page a browser gets for a path nothing serves (404) or a method a path lacks
    (405), in its language and with a way back to /verify; None for programs, who keep
    their problem details (anything under the API's prefixes, or not asking for HTML)."""
    accept = request.headers.get("accept", "")
    api = request.url.path.startswith(("/api/", "/epcis", "/ledger", "/openapi.json"))
    if api or "text/html" not in accept or status not in (404, 405):
        return None
    return _error(request, status, "not found", says="not_found")
