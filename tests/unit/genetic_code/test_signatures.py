"""Signatures: the committed test vectors, the documented recipe, and determinism across processes.

The hex strings below are COMMITTED TEST VECTORS. If one of these tests fails, the signature recipe (or the
canonical graph JSON, or a codon definition) changed, and every GC stored anywhere would change identity.
Do not update the vectors unless that is the intended, announced change.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gc_test_support import codon, if_then_else, if_then_square, positive_square, square_plus_x

from egp.genetic_code.gc import ANONYMOUS_CREATOR, SHAPEDSUNDEW9_UUID, GeneticCode
from egp.genetic_code.signature import compute_signature, parse_signature

# (a) a codon, (b) a composite, (c) conditionals, (d) a composite containing a conditional.
VECTORS = {
    "float_add": "87edc5de10225343ddf71dbd66beeeb05595d4128a9224cec22ac057744035ab",
    "square_plus_x": "4fb77fbdd4b0e25e7fa66c84fddd522fdf333eec03938c5ce4b7e03027cb42d9",
    "if_then_square": "614239c036ce751edb497bac04c9f4b62a949d6481252a404cfb5dfdb0cdc8e5",
    "if_then_else": "92f198dddb1993334c8bbee83fbfd258450d93b68bbf8ebe7dc6e8b29d2aa8d7",
    "positive_square": "4af986a2bc0391de2f163685b63ca9fd1e436329f139828f66bbc1721a7b28d2",
}

HERE = Path(__file__).resolve().parent


def vector_gcs() -> dict[str, GeneticCode]:
    """The GCs the vectors identify, built afresh."""
    store: dict[bytes, GeneticCode] = {}
    return {
        "float_add": codon("float_add"),
        "square_plus_x": square_plus_x(store),
        "if_then_square": if_then_square(store),
        "if_then_else": if_then_else(store),
        "positive_square": positive_square(store),
    }


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_committed_signature_vector(name: str) -> None:
    """Each vector GC still has its committed signature."""
    assert vector_gcs()[name].signature.hex() == VECTORS[name]


def test_codon_signature_follows_the_documented_recipe() -> None:
    """float_add = SHA-256(presence byte 0, creator UUID bytes, canonical graph JSON, inline template)."""
    add = codon("float_add")
    graph = (
        '{"I":["float","float"],"A":[["I",0,"float"],["I",1,"float"]],"As":["float"],"O":[["A",0,"float"]]}'
    )
    assert add.graph.canonical_json() == graph
    expected = hashlib.sha256(
        b"\x00" + SHAPEDSUNDEW9_UUID.bytes + graph.encode() + b"{i0} + {i1}"
    ).hexdigest()
    assert expected == VECTORS["float_add"]


def test_composite_signature_follows_the_documented_recipe() -> None:
    """A composite hashes presence (gca, gcb: bits 2, 3), both sub-GC signatures, creator and graph."""
    gc = vector_gcs()["square_plus_x"]
    assert gc.gca == codon("float_mul").signature and gc.gcb == codon("float_add").signature
    data = bytes([0b01100]) + gc.gca + gc.gcb + ANONYMOUS_CREATOR.bytes + gc.graph.canonical_json().encode()
    assert hashlib.sha256(data).hexdigest() == VECTORS["square_plus_x"]


def test_lineage_and_references_are_kept_apart() -> None:
    """The same 32 bytes as gca or as ancestora give different signatures (the presence byte)."""
    ref = bytes(range(32))
    graph = '{"I":["int"],"O":[["I",0,"int"]]}'
    as_gca = compute_signature(None, None, ref, None, None, ANONYMOUS_CREATOR, graph)
    as_ancestor = compute_signature(ref, None, None, None, None, ANONYMOUS_CREATOR, graph)
    assert as_gca != as_ancestor
    assert len(as_gca) == 32


def test_parse_signature_rejects_malformed_hex() -> None:
    """Wrong length and non-hex digits raise ValueError."""
    with pytest.raises(ValueError, match="64 hex digits, got 3"):
        parse_signature("abc")
    with pytest.raises(ValueError):
        parse_signature("z" * 64)
    assert parse_signature(VECTORS["float_add"]).hex() == VECTORS["float_add"]


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_signatures import vector_gcs
print(json.dumps({name: gc.signature.hex() for name, gc in vector_gcs().items()}))
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_signatures_are_the_same_in_another_process(hash_seed: str) -> None:
    """A fresh interpreter with a different PYTHONHASHSEED computes the same signatures."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(HERE)], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == VECTORS
