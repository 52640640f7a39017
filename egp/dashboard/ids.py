"""What a run id, job id or GC signature in a dashboard URL or `egp report` argument may look like."""

from __future__ import annotations

import re

from egp.errors import EGPError

# Run and job ids are 32 hex digits when made here; a job submitted with its own id may use these characters.
RUN_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


class MalformedIdError(EGPError):
    """A run id or signature that cannot be one (HTTP 400)."""


class NotFoundError(EGPError):
    """A well-formed run id or signature that this Gene Pool does not hold (HTTP 404)."""


def check_run_id(text: str) -> str:
    """`text` if it can be a run or job id; MalformedIdError otherwise."""
    if not RUN_ID.fullmatch(text):
        raise MalformedIdError(
            f"malformed run or job id {text[:80]!r}: expected up to 64 letters, digits, _ . -"
        )
    return text


def parse_signature(text: str) -> bytes:
    """The signature `text` names (64 hex digits); MalformedIdError otherwise."""
    if not SIGNATURE.fullmatch(text):
        raise MalformedIdError(f"malformed signature {text[:80]!r}: expected 64 hex digits")
    return bytes.fromhex(text)
