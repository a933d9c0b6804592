"""The log's side of tlog-witness: send one ``add-checkpoint`` request, read the answer.

The standard library's urllib: one short request a checkpoint per witness does not call
for a new dependency. Transport security is not what makes a cosignature trustworthy (the
log verifies it with the witness's key before keeping it), but an ``https`` URL still keeps
the checkpoints' traffic private.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["Answer", "post_add_checkpoint"]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


#: The body of an answer is read up to this many bytes: cosignature lines or a size.
_MAX_ANSWER = 64 * 1024


def post_add_checkpoint(url: str, body: bytes, timeout: float) -> Answer:
    """POST ``body`` to ``<url>/add-checkpoint``; any HTTP status is an Answer.

    Raises OSError (urllib.error.URLError, TimeoutError) when there is no answer at all.
    ``url`` is the witness's submission prefix and must be http or https.
    """
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"a witness URL is http(s), not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url.rstrip("/") + "/add-checkpoint",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "traceseal-log"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(
                response.status,
                response.headers.get_content_type(),
                response.read(_MAX_ANSWER),
            )
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers.get_content_type(), error.read(_MAX_ANSWER))
