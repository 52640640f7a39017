"""The SHA-256 signature that identifies every GC everywhere (domain spec §1.4).

Recipe (version 1): a presence byte (bit k set when the k-th of ancestora, ancestorb, gca, gcb, pgc is set),
then those 32-byte signatures that are present, in that order; then the creator UUID's 16 bytes; then the
canonical graph JSON encoded as UTF-8; then, for codons only, the inline template encoded as UTF-8. The
presence byte keeps (gca=x) and (ancestora=x) apart, which skipping nulls alone would not. No Python hash() is
involved, so signatures are the same across processes, machines and hash seeds.
"""

from __future__ import annotations

from hashlib import sha256
from uuid import UUID

SIGNATURE_LENGTH = 32
NULL_SIGNATURE = bytes(SIGNATURE_LENGTH)


def compute_signature(
    ancestora: bytes | None,
    ancestorb: bytes | None,
    gca: bytes | None,
    gcb: bytes | None,
    pgc: bytes | None,
    creator: UUID,
    graph_json: str | bytes,
    inline: str | None = None,
) -> bytes:
    """The 32-byte signature of a GC from its lineage, sub-GCs, maker, creator, graph and codon template."""
    # One join and one hash call: this runs for every new GC.
    parts = [b""]
    presence = 0
    if ancestora is not None:
        presence = 1
        parts.append(ancestora)
    if ancestorb is not None:
        presence |= 2
        parts.append(ancestorb)
    if gca is not None:
        presence |= 4
        parts.append(gca)
    if gcb is not None:
        presence |= 8
        parts.append(gcb)
    if pgc is not None:
        presence |= 16
        parts.append(pgc)
    parts[0] = _PRESENCE_BYTES[presence]
    parts.append(creator_bytes(creator))
    parts.append(graph_json if type(graph_json) is bytes else graph_json.encode())  # type: ignore[union-attr]
    if inline:
        parts.append(inline.encode())
    return sha256(b"".join(parts)).digest()


def creator_bytes(creator: UUID) -> bytes:
    """The 16 bytes a creator contributes to a signature (cached: UUID.bytes builds them anew each time).

    Nearly every call passes the same UUID object (the run's creator), so that one is checked by identity
    first: hashing a UUID runs Python code.
    """
    global _LAST_CREATOR, _LAST_CREATOR_BYTES
    if creator is _LAST_CREATOR:
        return _LAST_CREATOR_BYTES
    found = _CREATOR_BYTES.get(creator)
    if found is None:
        found = _CREATOR_BYTES[creator] = creator.bytes
    _LAST_CREATOR, _LAST_CREATOR_BYTES = creator, found
    return found


def lineage_signature(
    ancestora: bytes, gca: bytes, gcb: bytes, pgc: bytes, creator: bytes, graph_json: bytes
) -> bytes:
    """compute_signature for the commonest new GC: a mutated node (ancestor A, both sub-GCs, a pGC).

    The same bytes as `compute_signature(ancestora, None, gca, gcb, pgc, creator, graph)`, without its
    presence test and list building: every node a mutation rebuilds takes this path.
    """
    return sha256(b"".join((_LINEAGE_PRESENCE, ancestora, gca, gcb, pgc, creator, graph_json))).digest()


def subs_signature(gca: bytes, gcb: bytes, creator: bytes, graph_json: bytes) -> bytes:
    """compute_signature for an assembled part (both sub-GCs, no ancestors, no pGC): the same bytes as
    `compute_signature(None, None, gca, gcb, None, creator, graph)` (spontaneous assembly builds many)."""
    return sha256(b"".join((_SUBS_PRESENCE, gca, gcb, creator, graph_json))).digest()


_PRESENCE_BYTES = tuple(bytes([value]) for value in range(32))
_LINEAGE_PRESENCE = _PRESENCE_BYTES[0b11101]  # ancestora, gca, gcb and pgc present; ancestorb absent
_SUBS_PRESENCE = _PRESENCE_BYTES[0b01100]  # gca and gcb present only
_CREATOR_BYTES: dict[UUID, bytes] = {}
_LAST_CREATOR: UUID | None = None
_LAST_CREATOR_BYTES = b""


def parse_signature(text: str) -> bytes:
    """Bytes of a 64-character hex signature; raises ValueError if malformed."""
    if len(text) != 2 * SIGNATURE_LENGTH:
        raise ValueError(f"a signature is {2 * SIGNATURE_LENGTH} hex digits, got {len(text)} characters")
    return bytes.fromhex(text)
