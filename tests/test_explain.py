"""explain(i) and the visibility of duty that could not be assessed.

explain(i) derives item i from a frozen snapshot of what the assessment read, so
changing the caller's input afterwards changes nothing; its numbers are the stored
ones.  An item whose tariff line cannot be evaluated (rule bit cannot_assess) has
duty 0 that is NOT an assessed zero: the summary, the consignment column
``complete``, explain and the demo all say so.  Every case runs through both the
native engine and the reference.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis import cli, reference
from deminimis.assessment import rule_names

ENGINES = {"engine": dm.assess, "reference": reference.assess}
ON = dt.date(2026, 11, 28)  # any date: the test regime has no validity bounds
CANNOT = 64


def regime() -> dm.Regime:
    """EUR, CIF, VAT 20%, no reliefs: every item's tariff line is evaluated (or cannot be)."""
    return dm.Regime.from_dict({"id": "TEST", "currency": "EUR", "valuation": "CIF",
                                "vat": {"rates": {"DE": {"standard": "20"}}}})


# a horse (entry price), sugar confectionery (agricultural component) and T-shirts (12%)
TARIFF = dm.Tariff.from_records([{"code": "0101", "duty": "Entry price"},
                                 {"code": "1704", "duty": "12.8% + EA"},
                                 {"code": "6109", "duty": "12%"}])
HORSE, SWEETS, TSHIRT = "0101210000", "1704909910", "6109100010"
ENTRY_PRICE = "EU entry price system: the duty depends on the declared entry price"
AGRICULTURAL = "EU agricultural component (EA, ADSZ, ADFM): needs the Meursing additional code of the goods"


def mixed_items() -> dict[str, list[Any]]:
    """A: a horse (not assessed) with a T-shirt; B: a T-shirt alone; C: sweets and a horse (both not assessed)."""
    return {"consignment": ["A", "A", "B", "C", "C"],
            "hs_code": [HORSE, TSHIRT, TSHIRT, SWEETS, HORSE],
            "value": ["10.00", "10.00", "10.00", "5.50", "2.25"],
            "origin": ["CN", None, "CN", "TR", "CN"],
            "currency": ["EUR"] * 5}


# ---------------------------------------------------------------- explain reads the snapshot


def numbers(text: str) -> dict[str, Any]:
    """The amounts an explanation states for its item."""
    found = re.search(r"duty (\d+) \+ VAT (\d+) \+ fees (\d+) = (\d+) due at the border; "
                      r"at sale: duty (\d+), VAT (\d+); rules: (.*)$", text, re.M)
    assert found is not None, text
    customs = re.search(r"; customs value (\d+)$", text, re.M)
    intrinsic = re.search(r"^  1\. value \S+ \w+ -> (\d+) minor units of", text, re.M)
    total = re.search(r"total due at the border: (\S+) \w+$", text)
    assert customs is not None and intrinsic is not None and total is not None, text
    d, v, f, t, ds, vs, rules = found.groups()
    return {"intrinsic": int(intrinsic.group(1)), "customs_value": int(customs.group(1)),
            "duty": int(d), "vat": int(v), "fees": int(f), "total": int(t), "duty_at_sale": int(ds),
            "vat_at_sale": int(vs), "rules": [] if rules == "none" else rules.split(", "),
            "total_major": Decimal(total.group(1))}


def demo_batch(regime_id: str, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A synthetic batch as the demo makes it, and the arguments to assess it under that regime."""
    reg = dm.regimes.get(regime_id)
    on = cli.DEMO_ON if reg.in_force(cli.DEMO_ON) else reg.valid_from.date()  # type: ignore[union-attr]
    tariff, _ = cli.demo_tariff(reg)
    first = reg.valid_from.date() if reg.valid_from else on
    dates = [d for d in (on - dt.timedelta(days=k) for k in range(3, -1, -1)) if d >= first]
    batch = cli.synthetic_batch(n, tariff, sorted(reg.vat.rates), seed=14, currencies=cli.demo_currencies(reg.currency),
                                dates=dates, transports=cli.demo_transports(reg), consignees=True)
    return batch, {"regime": reg, "tariff": tariff, "rates": cli.demo_rates(reg.currency), "on": on,
                   "amounts": "minor"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("regime_id", ["US-2025-10-01", "US-2024-10-01", "EU-2026-07-01", "CN-2019-04-01"])
def test_every_explanation_states_the_stored_amounts(engine, regime_id):
    # US-2025: tariff lines that cannot be assessed, fees; US-2024 and CN: relief per consignee and day or
    # year (explain recomputes the consignee's consignments); EU: flat duty, VAT at sale, five currencies
    batch, kw = demo_batch(regime_id, 240)
    result = ENGINES[engine](batch, **kw)
    assert {"consignee_day", "consignee_year"} & kw["regime"].aggregations() or regime_id.startswith(("US-2025", "EU"))
    for i in range(len(result)):
        text = result.explain(i)
        got = numbers(text)
        for k in ("intrinsic", "customs_value", "duty", "vat", "fees", "total", "duty_at_sale", "vat_at_sale"):
            assert got[k] == int(result.items[k][i]), (i, k, text)
        assert got["rules"] == rule_names(int(result.rule[i])), (i, text)
        assert got["total_major"] == result.as_decimal("total", i)
        assert "WARNING" not in text
        assert ("duty NOT assessed" in text) == bool(result.rule[i] & CANNOT)
    if regime_id == "US-2025-10-01":
        assert np.count_nonzero(result.rule & CANNOT) > 0  # the batch does hold items not assessed


def assess_both(items: Any, **kw: Any) -> dict[str, dm.Assessment]:
    return {name: f(items, regime=regime(), tariff=TARIFF, on=ON, **kw) for name, f in ENGINES.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_list_element_changed_after_assess_does_not_reach_explain(engine):
    items = mixed_items()
    result = ENGINES[engine](items, regime=regime(), tariff=TARIFF, on=ON)
    items["value"][1] = "99.00"
    items["hs_code"][1] = HORSE
    text = result.explain(1)
    assert "value 10.00 EUR -> 1000 minor units of EUR" in text and f"code {TSHIRT}" in text
    assert numbers(text)["duty"] == 120 == result["duty"][1]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_replaced_column_does_not_reach_explain(engine):
    items = mixed_items()
    result = ENGINES[engine](items, regime=regime(), tariff=TARIFF, on=ON)
    items["value"] = ["77.00"] * 5
    del items["origin"]
    text = result.explain(2)
    assert "value 10.00 EUR -> 1000 minor units of EUR" in text and numbers(text)["total"] == 344


@pytest.mark.parametrize("engine", ENGINES)
def test_a_numpy_element_changed_after_assess_does_not_reach_explain(engine):
    items = {"consignment": np.array([1, 1, 2]), "hs_code": np.array([TSHIRT, TSHIRT, TSHIRT]),
             "value": np.array([1000, 2000, 3000]), "currency": np.array(["EUR"] * 3)}
    result = ENGINES[engine](items, regime=regime(), tariff=TARIFF, on=ON, amounts="minor")
    items["value"][1] = 5
    items["consignment"][1] = 2
    text = result.explain(1)
    assert "item 1 (consignment 1," in text and "value 20.00 EUR -> 2000" in text
    assert numbers(text)["duty"] == 240 == result["duty"][1]  # 12% of 2000


@pytest.mark.parametrize("engine", ENGINES)
def test_a_dataframe_cell_changed_after_assess_does_not_reach_explain(engine):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(mixed_items())
    result = ENGINES[engine](df, regime=regime(), tariff=TARIFF, on=ON)
    df.loc[2, "value"] = "50.00"
    df.loc[2, "consignment"] = "A"
    text = result.explain(2)
    assert "item 2 (consignment 'B'," in text and "value 10.00 EUR -> 1000" in text
    assert numbers(text)["total"] == 344 == result["total"][2]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_arrow_table_over_a_numpy_buffer_changed_after_assess_does_not_reach_explain(engine):
    pa = pytest.importorskip("pyarrow")
    value = np.array([1000, 2000, 3000])
    table = pa.table({"consignment": ["P", "P", "Q"], "hs_code": [TSHIRT] * 3, "value": pa.array(value),
                      "currency": ["EUR"] * 3})
    result = ENGINES[engine](table, regime=regime(), tariff=TARIFF, on=ON, amounts="minor")
    value[2] = 9  # pa.array(ndarray) shares the numpy buffer: the table changes too
    assert table.column("value")[2].as_py() == 9
    assert "value 30.00 EUR -> 3000" in result.explain(2)


def test_the_snapshot_is_read_only_and_the_callers_items_are_not_read_again():
    class Items(dict):
        """A mapping that counts the reads of its columns."""
        reads = 0

        def __getitem__(self, key: str) -> Any:
            Items.reads += 1
            return dict.__getitem__(self, key)

    items = Items({k: np.array(v, dtype=object) for k, v in mixed_items().items()})
    for name, f in ENGINES.items():
        result = f(items, regime=regime(), tariff=TARIFF, on=ON)
        before = Items.reads
        for i in range(5):
            result.explain(i)
        result.summary()
        assert Items.reads == before, name
        for col in result.inputs.columns.values():  # type: ignore[union-attr]
            with pytest.raises(ValueError, match="read-only"):
                col[0] = "X"


@pytest.mark.parametrize("engine", ENGINES)
def test_explain_of_a_consignee_regime_recomputes_the_consignees_consignments(engine):
    # US-2024: duty-free when the consignee's shipments of the day total at most USD 800
    batch, kw = demo_batch("US-2024-10-01", 60)
    result = ENGINES[engine](batch, **kw)
    consignee = batch["consignee"][5]
    text = result.explain(5)
    shown = set(re.findall(r"^  \d+\. consignment (\d+): intrinsic", text, re.M))
    expected = {str(c) for c in batch["consignment"][batch["consignee"] == consignee]}
    assert shown <= expected and str(batch["consignment"][5]) in shown


# ---------------------------------------------------------------- duty not assessed is visible


@pytest.mark.parametrize("engine", ENGINES)
def test_summary_counts_what_was_not_assessed(engine):
    result = assess_both(mixed_items())[engine]
    assert result["duty"].tolist() == [0, 120, 120, 0, 0]
    assert result.rule.tolist() == [CANNOT, 0, 0, CANNOT, CANNOT]
    s = result.summary()
    assert s["items_not_assessed"] == s["items_cannot_assess"] == 3
    assert s["value_not_assessed"] == 1000 + 550 + 225
    assert s["consignments_incomplete"] == 2
    # most frequent first: two horses (one per origin), one box of sweets
    assert list(s["not_assessed_reasons"].items()) == [(ENTRY_PRICE, 2), (AGRICULTURAL, 1)]


@pytest.mark.parametrize("engine", ENGINES)
def test_consignments_say_whether_they_are_complete(engine):
    result = assess_both(mixed_items())[engine]
    assert result.consignments["complete"].dtype == np.bool_
    assert result.consignments["complete"].tolist() == [False, True, False]
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    _, cons = result.to_pandas()
    assert cons["complete"].tolist() == [False, True, False]
    _, t_cons = result.to_arrow()
    assert t_cons.column("complete").to_pylist() == [False, True, False]


def test_a_batch_fully_assessed_is_complete_and_says_nothing_is_missing():
    items = {k: v[1:3] for k, v in mixed_items().items()}  # the two T-shirts
    for result in assess_both(items).values():
        s = result.summary()
        assert (s["items_not_assessed"], s["value_not_assessed"], s["consignments_incomplete"]) == (0, 0, 0)
        assert s["not_assessed_reasons"] == {}
        assert result.consignments["complete"].tolist() == [True, True]
        assert "NOT assessed" not in result.explain(0) and "incomplete" not in result.explain(1)


@pytest.mark.parametrize("engine", ENGINES)
def test_explain_says_when_duty_was_not_assessed(engine):
    result = assess_both(mixed_items())[engine]
    lines = result.explain(0).splitlines()
    assert lines[-2] == f"  duty NOT assessed: {ENTRY_PRICE}; the total below lacks it"
    assert lines[-1] == "  total due at the border: 2.00 EUR"  # VAT 20% of 10.00 only
    assert "incomplete" not in "\n".join(lines)  # the horse is A's only item not assessed
    # the T-shirt beside it: assessed, in an incomplete consignment
    lines = result.explain(1).splitlines()
    assert lines[-2] == "  consignment 'A' is incomplete: the duty of item(s) 0 could not be assessed; " \
                        "the consignment's totals lack it"
    assert "NOT assessed" not in "\n".join(lines)
    # the sweets: not assessed, and so is the horse beside them
    lines = result.explain(3).splitlines()
    assert lines[-3] == f"  duty NOT assessed: {AGRICULTURAL}; the total below lacks it"
    assert lines[-2].startswith("  consignment 'C' is incomplete: the duty of item(s) 4 could not")
    text = result.explain(2)
    assert "NOT assessed" not in text and "incomplete" not in text


def test_differences_compare_completeness():
    both = assess_both(mixed_items())
    fast, ref = both["engine"], both["reference"]
    assert fast.equals(ref)
    ref.consignments["complete"] = np.array([False, True, True])
    assert fast.differences(ref) == ["consignment column complete differs"]


def test_an_assessment_without_inputs_needs_completeness_given():
    fast = assess_both(mixed_items())["engine"]
    cons = {k: v for k, v in fast.consignments.items() if k != "complete"}
    with pytest.raises(ValueError, match="complete"):
        dm.Assessment(items=fast.items, consignment_ids=["A", "B", "C"], consignments=dict(cons), currency="EUR",
                      provenance={})
    given = dm.Assessment(items=fast.items, consignment_ids=["A", "B", "C"], currency="EUR", provenance={},
                          consignments={**cons, "complete": np.array([False, True, False])})
    assert given.summary()["not_assessed_reasons"] == {"unknown: the assessment keeps no inputs": 3}


def test_explain_names_a_stored_amount_that_no_longer_matches():
    fast = assess_both(mixed_items())["engine"]
    fast.items["duty"][1] = 7  # e.g. buffers reused by a later assess(out=...)
    assert "WARNING: the assessment holds duty 7 where this derivation gives 120" in fast.explain(1)


def test_the_demo_prints_the_items_not_assessed(capsys):
    assert cli.main(["demo", "--regime", "US", "--items", "3000", "--reference-sample", "300"]) == 0
    out = capsys.readouterr().out
    batch, kw = demo_args_us(3000)
    s = dm.assess(batch, **kw).summary()
    assert s["items_not_assessed"] > 0
    value = f"{Decimal(s['value_not_assessed']).scaleb(-2):,} USD"
    assert (f"  duty NOT assessed on {s['items_not_assessed']:,} items ({value} customs value; "
            f"{s['consignments_incomplete']:,} consignments incomplete): the totals lack their duty") in out
    for reason, count in list(s["not_assessed_reasons"].items())[:3]:
        assert f"{count:>10,} items: {reason}" in out


def demo_args_us(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo's US batch and arguments (seed 0), as cli.demo makes them."""
    reg = dm.regimes.get("US", on=cli.DEMO_ON)
    tariff, _ = cli.demo_tariff(reg)
    dates = [cli.DEMO_ON - dt.timedelta(days=k) for k in range(6, -1, -1)]
    batch = cli.synthetic_batch(n, tariff, sorted(reg.vat.rates), seed=0, currencies=cli.demo_currencies("USD"),
                                dates=dates, transports=cli.demo_transports(reg), consignees=True)
    return batch, {"regime": reg, "tariff": tariff, "rates": cli.demo_rates("USD"), "on": cli.DEMO_ON,
                   "amounts": "minor"}


def test_streamed_summary_adds_the_reasons_of_every_chunk(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from deminimis.stream import assess_parquet
    items = mixed_items()
    pq.write_table(pa.table(items), tmp_path / "in.parquet")
    s = assess_parquet(str(tmp_path / "in.parquet"), None, regime=regime(), tariff=TARIFF, on=ON, batch_rows=2,
                       progress=False)
    assert (s["items_not_assessed"], s["value_not_assessed"], s["consignments_incomplete"]) == (3, 1775, 2)
    assert s["not_assessed_reasons"] == {ENTRY_PRICE: 2, AGRICULTURAL: 1}
