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
    graph_json: str,
    inline: str | None = None,
) -> bytes:
    """The 32-byte signature of a GC from its lineage, sub-GCs, maker, creator, graph and codon template."""
    hasher = sha256()
    presence = 0
    refs = (ancestora, ancestorb, gca, gcb, pgc)
    for bit, ref in enumerate(refs):
        if ref is not None:
            presence |= 1 << bit
    hasher.update(presence.to_bytes(1, "big"))
    for ref in refs:
        if ref is not None:
            hasher.update(ref)
    hasher.update(creator.bytes)
    hasher.update(graph_json.encode())
    if inline:
        hasher.update(inline.encode())
    return hasher.digest()


def parse_signature(text: str) -> bytes:
    """Bytes of a 64-character hex signature; raises ValueError if malformed."""
    if len(text) != 2 * SIGNATURE_LENGTH:
        raise ValueError(f"a signature is {2 * SIGNATURE_LENGTH} hex digits, got {len(text)} characters")
    return bytes.fromhex(text)
