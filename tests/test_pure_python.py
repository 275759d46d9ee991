"""Without the native core: the package imports, the reference assesses, everything else says why not.

Each mode runs in a subprocess: DEMINIMIS_PUREPYTHON=1 (the compiled modules are there but not
used, nor even imported), and the compiled modules blocked (a sys.meta_path finder that raises
ImportError for them, as on a machine without a wheel).  The reference's amounts there must equal
the native engine's in this process; deminimis.assess, deminimis.stream and the command line must
raise or print NativeUnavailableError's one message, which names deminimis.reference.assess.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import deminimis as dm
from deminimis.assessment import ITEM_AMOUNTS
from deminimis.cli import demo_currencies, demo_rates, demo_tariff, demo_transports, synthetic_batch

ON = dt.date(2026, 11, 28)
REGIMES = ("EU", "UK", "US", "AU")  # IOSS and flat duty; 135 GBP; de minimis and fees; GST at sale

# installed by -c code before deminimis is imported
BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name in ("deminimis._core", "deminimis._encode"):
            raise ImportError(f"no compiled module {name} (blocked by the test)")
sys.meta_path.insert(0, Block())
"""

# reads the cases as JSON on stdin, prints what it found as JSON
CHILD = """
import json, sys
import datetime as dt
import deminimis as dm
from deminimis.cli import demo_rates, demo_tariff
report = {"native": dm.NATIVE, "reason": dm.NATIVE_REASON,
          "compiled_loaded": sorted(m for m in sys.modules if m in ("deminimis._core", "deminimis._encode")),
          "amounts": {}}
on = dt.date(2026, 11, 28)
for regime_id, items in json.load(sys.stdin).items():
    regime = dm.regimes.get(regime_id, on=on)
    kw = dict(regime=regime, tariff=demo_tariff(regime)[0], rates=demo_rates(regime.currency), on=on,
              amounts="minor")
    res = dm.reference.assess(items, **kw)
    report["amounts"][regime_id] = {k: res[k].tolist() for k in (*AMOUNTS, "rule")}
    report["amounts"][regime_id]["consignment_total"] = res.consignments["total"].tolist()
    try:
        dm.assess(items, **kw)
    except dm.NativeUnavailableError as exc:
        report["assess_error"] = [type(exc).__name__, str(exc), exc.reason]
    try:
        from deminimis.stream import assess_file
        assess_file(sys.argv[1], sys.argv[2], **kw)
    except dm.NativeUnavailableError as exc:
        report["stream_error"] = str(exc)
print(json.dumps(report))
"""


def python(mode: str, code: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter: mode "flag" sets DEMINIMIS_PUREPYTHON=1, "blocked" makes the
    compiled modules unimportable."""
    env = {k: v for k, v in os.environ.items() if k != "DEMINIMIS_PUREPYTHON"}
    if mode == "flag":
        env["DEMINIMIS_PUREPYTHON"] = "1"
    prelude = BLOCK if mode == "blocked" else ""
    return subprocess.run([sys.executable, "-c", prelude + code, *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=300)


def batches() -> dict[str, dict[str, list[Any]]]:
    """A seeded batch of 150 items for each regime, as JSON-ready lists (amounts in minor units)."""
    out = {}
    for regime_id in REGIMES:
        regime = dm.regimes.get(regime_id, on=ON)
        b = synthetic_batch(150, demo_tariff(regime)[0], sorted(regime.vat.rates), seed=7,
                            currencies=demo_currencies(regime.currency),
                            transports=demo_transports(regime), consignees=True)
        out[regime_id] = {k: v.tolist() for k, v in b.items()}
    return out


def native_amounts(regime_id: str, items: dict[str, list[Any]]) -> dict[str, list[int]]:
    regime = dm.regimes.get(regime_id, on=ON)
    res = dm.assess(items, regime=regime, tariff=demo_tariff(regime)[0], rates=demo_rates(regime.currency), on=ON,
                    amounts="minor")
    got = {k: res[k].tolist() for k in (*ITEM_AMOUNTS, "rule")}
    got["consignment_total"] = res.consignments["total"].tolist()
    return got


@pytest.fixture(scope="module", params=["flag", "blocked"])
def child(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a pure-Python interpreter reports (see CHILD), with the mode and the stream's files."""
    tmp = tmp_path_factory.mktemp(request.param)
    source, destination = tmp / "items.csv", tmp / "assessed.csv"
    source.write_text("consignment,hs_code,value,currency\nA,6109100010,10.00,EUR\n")
    code = f"AMOUNTS = {tuple(ITEM_AMOUNTS)!r}\n" + CHILD
    proc = python(request.param, code, str(source), str(destination), stdin=json.dumps(batches()))
    assert proc.returncode == 0, proc.stderr
    return {"mode": request.param, "destination": destination, **json.loads(proc.stdout)}


class TestWithoutTheNativeCore:
    def test_the_package_imports_and_says_why(self, child: dict[str, Any]) -> None:
        assert child["native"] is False
        if child["mode"] == "flag":
            assert child["reason"] == "DEMINIMIS_PUREPYTHON=1 is set in the environment"
        else:
            assert child["reason"].startswith("the compiled extension cannot be imported: ")
            assert "blocked by the test" in child["reason"]

    def test_the_compiled_modules_are_not_even_imported(self, child: dict[str, Any]) -> None:
        assert child["compiled_loaded"] == []

    @pytest.mark.parametrize("regime_id", REGIMES)
    def test_the_reference_gives_the_native_engines_amounts(self, child: dict[str, Any], regime_id: str) -> None:
        items = batches()[regime_id]
        want = native_amounts(regime_id, items)
        assert any(any(want[k]) for k in ("duty", "vat", "vat_at_sale", "fees")), "a batch of no tax proves little"
        assert child["amounts"][regime_id] == want

    def test_assess_raises_naming_the_reference(self, child: dict[str, Any]) -> None:
        name, message, reason = child["assess_error"]
        assert name == "NativeUnavailableError"
        assert reason == child["reason"]
        assert f"the native core is not available ({reason})" in message
        assert "deminimis.reference.assess takes the same arguments" in message

    def test_the_stream_raises_the_same_error_and_writes_nothing(self, child: dict[str, Any]) -> None:
        assert child["stream_error"] == child["assess_error"][1]
        assert list(child["destination"].parent.iterdir()) == [child["destination"].parent / "items.csv"]


CLI = "import sys\nfrom deminimis.cli import main\nsys.exit(main(sys.argv[1:]))\n"


@pytest.mark.parametrize("mode", ["flag", "blocked"])
class TestCommandLineWithoutTheNativeCore:
    def test_demo_exits_2_with_one_line(self, mode: str) -> None:
        proc = python(mode, CLI, "demo", "--items", "100")
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("deminimis: error: the native core is not available ("), lines
        assert "deminimis.reference.assess" in lines[0]

    def test_assess_exits_2_with_one_line_and_writes_nothing(self, mode: str, tmp_path: Path) -> None:
        source = tmp_path / "items.csv"
        source.write_text("consignment,hs_code,value,currency\nA,6109100010,10.00,EUR\n")
        proc = python(mode, CLI, "assess", str(source), str(tmp_path / "out.csv"), "--regime", "EU",
                      "--tariff", "sample:EU", "--on", "2026-11-28")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and "the native core is not available" in lines[0], lines
        assert "deminimis.reference.assess" in lines[0]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["items.csv"]

    def test_the_regimes_listing_needs_no_native_core(self, mode: str) -> None:
        proc = python(mode, CLI, "regimes")
        assert proc.returncode == 0, proc.stderr
        assert any(line.startswith("EU-2026-07-01 ") for line in proc.stdout.splitlines())


@pytest.mark.pure
def test_assess_here_agrees_with_native() -> None:
    """In this process (either mode): assess works exactly when NATIVE, and otherwise says why."""
    items = {"consignment": ["P1"], "hs_code": ["6109100010"], "value": ["20.00"], "currency": ["EUR"],
             "destination": ["DE"], "collected_at_sale": [True]}
    kw: dict[str, Any] = dict(regime="EU", tariff=dm.tariff.sample("EU"), on=ON)
    want = dm.reference.assess(items, **kw)
    assert want["duty"].tolist() == [300]  # EUR 3 per distinct subheading in an IOSS consignment
    if dm.NATIVE:
        assert dm.NATIVE_REASON is None
        assert dm.assess(items, **kw).equals(want)
    else:
        with pytest.raises(dm.NativeUnavailableError, match=r"deminimis\.reference\.assess") as info:
            dm.assess(items, **kw)
        assert info.value.reason == dm.NATIVE_REASON
        assert isinstance(info.value, dm.DeminimisError)


@pytest.mark.pure
def test_the_version_is_the_installed_distributions() -> None:
    assert dm.__version__ == importlib.metadata.version("deminimis")
