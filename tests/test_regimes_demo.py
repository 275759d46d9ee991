"""`deminimis demo --regime CODE` runs under every built-in regime: it exits 0 only when the native
engine and the reference agree on its sample, labels its exchange rates as illustrative, and never
invents duty rates (a jurisdiction without a sample tariff gets a tariff whose every line is Free)."""

from __future__ import annotations

import datetime as dt

import pytest

from deminimis import cli, regimes, tariff

IDS = [e["id"] for e in regimes.available()]


@pytest.mark.parametrize("rid", IDS)
def test_demo_runs_and_agrees_under_every_builtin_regime(rid: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["demo", "--regime", rid, "--items", "2000", "--reference-sample", "500"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"under {rid} on " in out
    assert "engine and reference agree on the sample: yes" in out
    assert "illustrative demo rates, NOT official" in out
    has_sample = rid.split("-")[0] in ("EU", "UK", "US")
    assert ("rates as published" in out) == has_sample
    assert ("duty is NOT assessed from a real tariff" in out) == (not has_sample)


def test_demo_tariff_is_the_sample_or_all_free() -> None:
    for rid in IDS:
        r = regimes.get(rid)
        t, real = cli.demo_tariff(r)
        if real:
            assert t.name == tariff.sample(r.jurisdiction.split("-")[0]).name
        else:
            assert {str(e) for e in t.lines.values()} == {str(tariff.parse("Free"))}


def test_demo_batch_carries_the_columns_regimes_need() -> None:
    """Every per-person aggregation, transport condition and VAT destination of every regime is fed."""
    for rid in IDS:
        r = regimes.get(rid)
        t, _ = cli.demo_tariff(r)
        batch = cli.synthetic_batch(300, t, sorted(r.vat.rates), seed=3, currencies=cli.demo_currencies(r.currency),
                                    dates=[dt.date(2026, 11, 27), dt.date(2026, 11, 28)],
                                    transports=cli.demo_transports(r), consignees=True)
        assert {"consignee", "date", "transport", "destination"} <= set(batch)
        assert set(batch["destination"]) <= set(r.vat.rates)
        named = {x for rule in [*r.rules(), *r.fees] if rule.transports
                 for x in rule.transports}
        assert named <= set(cli.demo_transports(r))


def test_demo_rates_cross_through_eur_and_cover_every_regime_currency() -> None:
    eur = cli.demo_rates("EUR")
    assert {k: str(v) for k, v in eur.rates.items()} == cli.DEMO_RATES_PER_EUR
    nok = cli.demo_rates("NOK")
    assert str(nok.rates["EUR"]) == "0.086206897"          # 1 / 11.60, 8 significant digits
    for cur in {r.currency for r in map(regimes.get, IDS)}:
        rates = cli.demo_rates(cur)
        assert all(rates.has(c) for c in cli.demo_currencies(cur))
        assert "NOT official" in rates.source


def test_default_batch_is_unchanged_by_the_optional_columns() -> None:
    t = tariff.sample("EU")
    plain = cli.synthetic_batch(500, t, ["DE", "FR"], seed=5)
    more = cli.synthetic_batch(500, t, ["DE", "FR"], seed=5, dates=[dt.date(2026, 1, 1)], transports=["post"],
                               consignees=True)
    assert set(more) - set(plain) == {"date", "transport", "consignee"}
    assert all((plain[k] == more[k]).all() for k in plain)


def test_demo_refuses_a_regime_not_in_force_on_the_date_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--regime", "EU-2019-01-01", "--on", "2025-01-01", "--items", "100"]) == 2
    assert "not in force" in capsys.readouterr().err
