"""deminimis audit / simulate write the HTML report, its tables and provenance; figures are matplotlib."""

from __future__ import annotations

import csv
import os

import pytest

pytest.importorskip("matplotlib")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from deminimis import audit, synthetic  # noqa: E402
from deminimis.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    items, planted, _ = synthetic.declarations(5_000, seed=5)
    path = str(tmp_path_factory.mktemp("audit") / "june.parquet")
    pq.write_table(pa.table({k: v for k, v in items.items() if k not in ("date",)} | {"date": items["date"]}), path)
    return path, planted


def test_audit_command_writes_report_and_tables(source: tuple[str, dict], tmp_path: object) -> None:
    path, planted = source
    out = os.path.join(str(tmp_path), "report")
    code = main(["audit", path, out, "--regime", "EU", "--tariff", "sample:EU", "--on", "2026-06-30",
                 "--amounts", "minor", "--rate", "USD=1.0876", "--rate", "GBP=0.8530", "--rate", "CNY=7.8012",
                 "--rate", "JPY=162.15", "--declared", "duty=declared_duty", "--declared", "vat=declared_vat",
                 "--declared", "relief=relief_claimed", "--group-by", "chapter", "--group-by", "carrier"])
    assert code == 0
    assert {"report.html", "provenance.json", "reconciliation_by_class.csv", "by_chapter.csv", "by_carrier.csv",
            "risk_counts.csv"} <= set(os.listdir(out))
    with open(os.path.join(out, "reconciliation_by_class.csv")) as f:
        rows = {r["class"]: r for r in csv.DictReader(f)}
    for kind, consignments in planted.items():
        assert int(rows[kind]["consignments"]) == len(consignments), kind
    page = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert page.count("data:image/png;base64,") == 2 and "Provenance" in page
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]  # written whole, nothing left behind


def test_audit_with_dated_rates_and_parquet_tables(source: tuple[str, dict], tmp_path: object) -> None:
    """--rates FILE (a dated table) gives the same reconciliation as the same rates by --rate, and
    --tables parquet writes the tables as Parquet with exact integers."""
    path, planted = source
    rates = os.path.join(str(tmp_path), "june_rates.csv")
    with open(rates, "w") as f:  # the rates of the test above, in force over June 2026
        f.write("currency,valid_from,valid_to,rate\n" + "".join(
            f"{c},2026-06-01,2026-06-30,{r}\n" for c, r in (("USD", "1.0876"), ("GBP", "0.8530"),
                                                              ("CNY", "7.8012"), ("JPY", "162.15"))))
    out = os.path.join(str(tmp_path), "report")
    code = main(["audit", path, out, "--regime", "EU", "--tariff", "sample:EU", "--on", "2026-06-30",
                 "--amounts", "minor", "--rates", rates, "--rates-format", "csv", "--tables", "parquet",
                 "--declared", "duty=declared_duty", "--declared", "vat=declared_vat",
                 "--declared", "relief=relief_claimed", "--keep", "carrier"])
    assert code == 0
    table = pq.read_table(os.path.join(out, "reconciliation_by_class.parquet"))
    assert table.schema.field("difference").type == pa.int64()
    rows = {r["class"]: r for r in table.to_pylist()}
    for kind, consignments in planted.items():
        assert rows[kind]["consignments"] == len(consignments), kind
    assert rows["under_declared"]["difference"] > 0 > rows["over_declared"]["difference"]
    page = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "reconciliation_by_class.parquet" in page and not [n for n in os.listdir(out) if n.endswith(".csv")]


def test_simulate_command(source: tuple[str, dict], tmp_path: object) -> None:
    path, _ = source
    out = os.path.join(str(tmp_path), "sim")
    code = main(["simulate", path, out, "--regime", "EU-2026-01-01", "--tariff", "sample:EU", "--on", "2026-06-30",
                 "--amounts", "minor", "--rate", "USD=1.0876", "--rate", "GBP=0.8530", "--rate", "CNY=7.8012",
                 "--rate", "JPY=162.15", "--thresholds", "0,50,150,300", "--keep", "carrier", "--keep", "declared_duty",
                 "--keep", "declared_vat", "--keep", "relief_claimed"])
    assert code == 0
    with open(os.path.join(out, "threshold_curve.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["threshold"] for r in rows] == ["0", "50", "150", "300"]
    assert int(rows[0]["duty"]) >= int(rows[-1]["duty"])


def test_figures_are_matplotlib(source: tuple[str, dict]) -> None:
    from deminimis import report
    items, _, (regime, tariff, rates) = synthetic.declarations(500, seed=1)
    rec = audit.reconcile(items, declared={"duty": "declared_duty"}, regime=regime, tariff=tariff, rates=rates,
                          on=synthetic.ON, amounts="minor", keep=["declared_vat", "relief_claimed", "carrier"])
    fig = report.reconciliation_figure(rec)
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 1
