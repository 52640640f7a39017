"""`egp codons list` and `egp gc show`: output shapes, file input, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gc_test_support import REGISTRY, codon, positive_square, square_plus_x, sub_gcs_first
from typer.testing import CliRunner

from egp.cli import app
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.serialization import to_json

EGP = str(Path(sys.executable).parent / "egp")
SHOW_KEYS = {
    "signature",
    "inputs",
    "outputs",
    "graph_type",
    "graph",
    "code_depth",
    "num_codes",
    "num_codons",
    "generation",
    "properties",
    "source",
}


def invoke(*args: str) -> Any:
    """Run the CLI in-process; fail on a non-zero exit."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def egp_fails(*args: str, cwd: Path) -> str:
    """Run the installed `egp` in a subprocess, expect exit code 2 and one `error:` line; return it."""
    result = subprocess.run([EGP, *args], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_codons_list_json() -> None:
    """≥ 60 codons with 64-hex signatures, type names, property flags and family."""
    records = json.loads(invoke("codons", "list", "--json").output)
    assert isinstance(records, list) and len(records) >= 60
    assert len({r["signature"] for r in records}) == len(records)
    for record in records:
        assert re.fullmatch(r"[0-9a-f]{64}", record["signature"])
        assert REGISTRY.by_name(record["name"]).signature.hex() == record["signature"]
        assert isinstance(record["inputs"], list) and record["outputs"]
        assert set(record["properties"]) == {
            "vectorisable",
            "deterministic",
            "side_effects",
            "literal",
            "is_pgc",
        }
        assert record["family"]
    by_name = {r["name"]: r for r in records}
    assert by_name["float_lt"]["inputs"] == ["float", "float"] and by_name["float_lt"]["outputs"] == ["bool"]
    assert by_name["lit_float_1"]["properties"]["literal"] is True


def test_codons_list_table() -> None:
    """The plain table shows every codon's name and full signature, and type names such as list[str]."""
    output = invoke("codons", "list").output
    add = codon("float_add")
    assert add.signature.hex() in output and "float_add" in output
    assert "list[str]" in output


def test_gc_show_a_codon_signature() -> None:
    """`egp gc show <codon signature>` in both forms."""
    add = codon("float_add")
    plain = invoke("gc", "show", add.signature.hex()).output
    assert "PRIMITIVE" in plain and "float" in plain and "i0 + i1" in plain
    info = json.loads(invoke("gc", "show", add.signature.hex(), "--json").output)
    assert set(info) >= SHOW_KEYS
    assert info["signature"] == add.signature.hex()
    assert (info["inputs"], info["outputs"], info["graph_type"]) == (
        ["float", "float"],
        ["float"],
        "PRIMITIVE",
    )
    assert info["graph"] == add.graph.to_json()
    assert (info["code_depth"], info["num_codes"], info["num_codons"], info["generation"]) == (1, 1, 1, 1)
    assert info["properties"]["gc_type"] == "CODON" and info["properties"]["vectorisable"] is True


def _write(path: Path, gcs: list[GeneticCode] | GeneticCode) -> Path:
    data = [to_json(gc) for gc in gcs] if isinstance(gcs, list) else to_json(gcs)
    path.write_text(json.dumps(data, indent=1))
    return path


def test_gc_show_a_file_with_sub_gcs_first(tmp_path: Path) -> None:
    """A list of GCs (sub-GCs first) is validated in order; the last is shown, with runnable source."""
    store: dict[bytes, GeneticCode] = {}
    gc = positive_square(store)
    path = _write(tmp_path / "gcs.json", sub_gcs_first(gc, store))
    info = json.loads(invoke("gc", "show", str(path), "--json").output)
    assert info["signature"] == gc.signature.hex()
    assert (info["graph_type"], info["inputs"], info["outputs"]) == ("STANDARD", ["float"], ["float"])
    assert (info["code_depth"], info["num_codons"]) == (gc.code_depth, gc.num_codons)
    namespace: dict[str, Any] = {}
    exec(info["source"], namespace)
    fn = namespace[f"gc_{gc.signature.hex()[:12]}"]
    assert (fn(3.0), fn(-3.0)) == (9.0, -3.0)
    plain = invoke("gc", "show", str(path)).output
    assert gc.signature.hex() in plain and "STANDARD" in plain and "def gc_" in plain


def test_gc_show_a_single_gc_file(tmp_path: Path) -> None:
    """A file holding one composite whose sub-GCs are codons."""
    store: dict[bytes, GeneticCode] = {}
    gc = square_plus_x(store)
    info = json.loads(invoke("gc", "show", str(_write(tmp_path / "one.json", gc)), "--json").output)
    assert info["signature"] == gc.signature.hex() and info["num_codons"] == 2


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("abc", "error: a signature is 64 hex digits, got 3"),
        ("g" * 64, "is neither a JSON file nor a hex signature"),
        ("ab" * 32, f"error: no GC with signature {'ab' * 32}"),
        ("missing.json", "error: no such file: missing.json"),
    ],
)
def test_gc_show_argument_errors(tmp_path: Path, argument: str, message: str) -> None:
    """Malformed or unknown signatures and missing files: one line, exit code 2."""
    assert message in egp_fails("gc", "show", argument, cwd=tmp_path)


@pytest.mark.slow
def test_gc_show_file_errors(tmp_path: Path) -> None:
    """Invalid JSON, a GC that fails validation, a sub-GC missing from the list: one line each."""
    (tmp_path / "bad.json").write_text("{not json")
    assert "bad.json is not valid JSON" in egp_fails("gc", "show", "bad.json", cwd=tmp_path)
    store: dict[bytes, GeneticCode] = {}
    gc = square_plus_x(store)
    tampered = to_json(gc)
    tampered["graph"]["B"][1][:2] = ["A", 0]
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    line = egp_fails("gc", "show", "tampered.json", cwd=tmp_path)
    assert f"tampered.json: signature mismatch: claimed {gc.signature.hex()}" in line
    outer = positive_square(store)
    _write(tmp_path / "top_only.json", [outer])
    line = egp_fails("gc", "show", "top_only.json", cwd=tmp_path)
    assert "top_only.json item 0: gca" in line and "is not known" in line
    (tmp_path / "empty.json").write_text("[]")
    assert "empty list" in egp_fails("gc", "show", "empty.json", cwd=tmp_path)
