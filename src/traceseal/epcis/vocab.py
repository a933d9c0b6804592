"""EPCIS 2.0 facts written once: the JSON-LD context URL, the event types, and the CBV 2.0
standard vocabularies with the rules that tell a standard term from an extension URI.

EPCIS 2.0 writes a standard CBV term in three ways, all meaning the same thing:

- bare, as the JSON-LD binding does: ``shipping``
- as a CBV 1.x URN, as EPCIS 1.2 XML does: ``urn:epcglobal:cbv:bizstep:shipping``
- as a GS1 Web URI, as the CBV 2.0 event hash does: ``https://ref.gs1.org/cbv/BizStep-shipping``

Anything else must be an absolute URI of the user's own (CBV 2.0 section 6: user vocabularies are
URIs). A bare word that is not a CBV term is an error, and so is a URI inside GS1's CBV namespaces
that names no term of the kind asked for: it looks standard but means nothing.

The term lists below are CBV 2.0's (sections 7.1 to 7.5), the same as the JSON-LD contexts GS1
publishes (``cbv-context-bizstep.jsonld`` and siblings); ``tests/unit/epcis/test_vocab.py`` checks
them against those files. Sensor measurement types, alert types and components are not here: the
EPCIS JSON Schema pins those itself.

Every lookup is one dict probe; only a value that is not a standard term costs a regex match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BIZ_STEPS",
    "BIZ_TRANSACTION_TYPES",
    "CONTEXT_URL",
    "CONTEXT_URLS",
    "DISPOSITIONS",
    "ERROR_REASONS",
    "EVENT_TYPES",
    "KINDS",
    "SOURCE_DEST_TYPES",
    "Kind",
    "check",
    "check_uri",
    "full_uri",
    "is_standard",
    "normalise",
]

#: The EPCIS 2.0 JSON-LD context, version 2.0.0: what documents we write name, and what the
#: CBV event hash resolves (the file is shipped in ``data/``, so nothing is fetched).
CONTEXT_URL: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: The contexts a captured document may name: the versioned one, or GS1's "latest" URL.
CONTEXT_URLS: Final = frozenset(
    {CONTEXT_URL, "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"}
)
#: The EPCIS 2.0 event types, in the standard's order (EPCIS 2.0 sections 7.4.2 to 7.4.6).
EVENT_TYPES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)

Kind = Literal["bizStep", "disposition", "bizTransactionType", "sourceDestType", "errorReason"]

BIZ_STEPS: Final = frozenset(
    {
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)

DISPOSITIONS: Final = frozenset(
    {
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    }
)

BIZ_TRANSACTION_TYPES: Final = frozenset(
    {
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    }
)

SOURCE_DEST_TYPES: Final = frozenset({"owning_party", "possessing_party", "location"})

ERROR_REASONS: Final = frozenset({"did_not_occur", "incorrect_data"})

# Where GS1 keeps the CBV. A URI under one of these that is not a known term is refused rather
# than taken for an extension: GS1 owns these namespaces, so no user may mint terms in them.
# ``ns.gs1.org/cbv`` is the namespace of EPCIS 2.0 drafts, which the JSON Schema also excludes.
_CBV_NAMESPACES: Final = (
    "urn:epcglobal:cbv:",
    "https://ref.gs1.org/cbv/",
    "http://ref.gs1.org/cbv/",
    "https://ns.gs1.org/cbv/",
    "http://ns.gs1.org/cbv/",
)


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    label: str  # how a person calls it, for messages
    example: str  # a standard term, for messages
    terms: frozenset[str]
    urn_prefix: str  # CBV 1.x URN form
    web_prefix: str  # CBV 2.0 GS1 Web URI form
    spellings: dict[str, str]  # every accepted spelling -> bare term


def _vocabulary(
    label: str, example: str, terms: frozenset[str], urn_prefix: str, web_prefix: str
) -> _Vocabulary:
    spellings: dict[str, str] = {}
    for term in terms:
        spellings[term] = term
        spellings[urn_prefix + term] = term
        spellings[web_prefix + term] = term
    return _Vocabulary(label, example, terms, urn_prefix, web_prefix, spellings)


_CBV: Final = "https://ref.gs1.org/cbv/"

_VOCABULARIES: Final[dict[str, _Vocabulary]] = {
    "bizStep": _vocabulary(
        "business step", "shipping", BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"
    ),
    "disposition": _vocabulary(
        "disposition", "in_transit", DISPOSITIONS, "urn:epcglobal:cbv:disp:", _CBV + "Disp-"
    ),
    "bizTransactionType": _vocabulary(
        "business transaction type",
        "po",
        BIZ_TRANSACTION_TYPES,
        "urn:epcglobal:cbv:btt:",
        _CBV + "BTT-",
    ),
    "sourceDestType": _vocabulary(
        "source/destination type",
        "owning_party",
        SOURCE_DEST_TYPES,
        "urn:epcglobal:cbv:sdt:",
        _CBV + "SDT-",
    ),
    "errorReason": _vocabulary(
        "error reason", "incorrect_data", ERROR_REASONS, "urn:epcglobal:cbv:er:", _CBV + "ER-"
    ),
}

KINDS: Final = frozenset(_VOCABULARIES)

# RFC 3986 absolute-URI: a scheme, a colon, then unreserved, reserved or percent-encoded octets.
# Non-ASCII (IRIs) is refused, as the JSON Schema's "uri" format refuses it.
_ABSOLUTE_URI: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
)
# RFC 8141: urn:<NID>:<NSS>, the NID 2 to 32 letters, digits or hyphens, not starting with one.
_URN: Final = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9\-]{0,30}[A-Za-z0-9]:.+", re.IGNORECASE)


def _vocab(kind: str) -> _Vocabulary:
    try:
        return _VOCABULARIES[kind]
    except KeyError:
        raise ValueError(f"unknown CBV vocabulary {kind!r}; one of {sorted(KINDS)}") from None


def check_uri(value: str) -> str | None:
    """Why ``value`` is not a well-formed absolute URI, or None when it is one.

    Stricter than the JSON Schema's ``uri`` format where that format lets through what cannot
    name anything: ``http:`` and ``https:`` need a host, ``urn:`` needs a namespace and a
    namespace-specific string.

    >>> check_uri("https://example.com/steps/gluing") is None
    True
    >>> check_uri("http://")
    "'http://' is not a well-formed URI: an http(s) URI needs a host"
    """
    if _ABSOLUTE_URI.fullmatch(value) is None:
        return f"{value!r} is not a well-formed absolute URI (scheme:rest, no spaces)"
    scheme, _, rest = value.partition(":")
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        host = authority.rpartition("@")[2]
        if not host.startswith("["):  # an IPv6 literal carries colons of its own
            host = host.partition(":")[0]
        if not rest.startswith("//") or not host:
            return f"{value!r} is not a well-formed URI: an http(s) URI needs a host"
    elif scheme == "urn" and _URN.fullmatch(value) is None:
        return f"{value!r} is not a well-formed URN (urn:namespace:specific-string)"
    return None


def _case_slip(vocab: _Vocabulary, value: str) -> str | None:
    """The term a GS1 Web URI names when only the case of its prefix is off.

    GS1's own XML examples write ``https://ref.gs1.org/cbv/Bizstep-sensor_reporting``; the
    term is unmistakable, so it is read as the term rather than refused as a non-term.
    """
    prefix = vocab.web_prefix
    if len(value) > len(prefix) and value[: len(prefix)].lower() == prefix.lower():
        term = value[len(prefix) :]
        if term in vocab.terms:
            return term
    return None


def check(kind: Kind, value: str) -> str | None:
    """Why ``value`` is not acceptable as a ``kind``, or None when it is.

    Acceptable are the standard terms in any of their three spellings, and well-formed absolute
    URIs outside GS1's CBV namespaces (extensions). The message is English, for a person.

    >>> check("bizStep", "urn:epcglobal:cbv:bizstep:shipping") is None
    True
    >>> check("bizStep", "https://example.com/bizstep/gluing") is None
    True
    >>> check("bizStep", "foo_bar")  # doctest: +ELLIPSIS
    "'foo_bar' is not a CBV business step..."
    """
    vocab = _VOCABULARIES.get(kind) or _vocab(kind)  # the fast path first: called per event
    if value.__class__ is str and value in vocab.spellings:
        return None
    if not isinstance(value, str):  # JSON may hold anything; a list is not even hashable
        return f"a {vocab.label} must be a string, not {type(value).__name__}"
    if ":" not in value:
        hint = ""
        folded = value.strip().lower()
        if folded in vocab.terms:
            hint = f" (did you mean {folded!r}?)"
        return (
            f"{value!r} is not a CBV {vocab.label}{hint}; use a standard term such as "
            f"{vocab.example!r}, or an absolute URI of your own for an extension "
            f"(e.g. https://example.com/{kind}/{value.strip() or 'name'})"
        )
    if _case_slip(vocab, value) is not None:
        return None
    if value.startswith(_CBV_NAMESPACES):
        for other_kind, other in _VOCABULARIES.items():
            if other_kind != kind and value in other.spellings:
                return (
                    f"{value!r} is a CBV {other.label}, not a {vocab.label}; "
                    f"standard {vocab.label}s are e.g. {vocab.example!r}"
                )
        return (
            f"{value!r} is in GS1's CBV namespace but is no CBV {vocab.label}; extensions "
            "must use a namespace of their own"
        )
    return check_uri(value)


def is_standard(kind: Kind, value: str) -> bool:
    """Whether ``value`` is a standard CBV term of ``kind``, in any spelling.

    >>> is_standard("disposition", "https://ref.gs1.org/cbv/Disp-in_transit")
    True
    >>> is_standard("disposition", "https://example.com/disp/wet")
    False
    """
    return value in _vocab(kind).spellings


def normalise(kind: Kind, value: str) -> str:
    """The bare CBV term for any spelling of a standard term; an extension URI unchanged.

    Raises ``ValueError`` (with ``check``'s message) for a value that is neither; callers that
    validated the document first never see it.

    >>> normalise("bizStep", "urn:epcglobal:cbv:bizstep:shipping")
    'shipping'
    >>> normalise("bizStep", "https://ref.gs1.org/cbv/BizStep-shipping")
    'shipping'
    >>> normalise("bizStep", "https://example.com/bizstep/gluing")
    'https://example.com/bizstep/gluing'
    """
    vocab = _vocab(kind)
    term = vocab.spellings.get(value) or _case_slip(vocab, value)
    if term is not None:
        return term
    problem = check(kind, value)
    if problem is not None:
        raise ValueError(problem)
    return value


def full_uri(kind: Kind, term: str) -> str:
    """The CBV 2.0 GS1 Web URI of a standard term (any spelling); an extension URI unchanged.

    This is the form the CBV 2.0 event hash and human-facing pages use.

    >>> full_uri("bizStep", "shipping")
    'https://ref.gs1.org/cbv/BizStep-shipping'
    >>> full_uri("errorReason", "urn:epcglobal:cbv:er:incorrect_data")
    'https://ref.gs1.org/cbv/ER-incorrect_data'
    """
    vocab = _vocab(kind)
    bare = normalise(kind, term)
    return vocab.web_prefix + bare if bare in vocab.terms else bare
