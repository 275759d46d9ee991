"""`deminimis assess`: formats, whole-or-nothing files, file rows in errors, exit codes, provenance."""

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest

import deminimis as dm
from deminimis.cli import DEMO_RATES, main, synthetic_batch

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from deminimis import stream  # noqa: E402
from deminimis.chunking import SeenIds  # noqa: E402
from deminimis.stream import assess_file, assess_parquet, iter_assess, shift_rows  # noqa: E402

ON = dt.date(2026, 11, 28)
RATES = [f"--rate={k}={v}" for k, v in DEMO_RATES.items()]
BASE = ["--regime", "EU", "--tariff", "sample:EU", "--on", "2026-11-28", "--quiet", *RATES]


@pytest.fixture(scope="module")
def table():
    """5,000 items as text (as a CSV or JSON Lines file holds them), consignments adjacent."""
    regime, tariff = dm.regimes.get("EU", on=ON), dm.tariff.sample("EU")
    b = synthetic_batch(5000, tariff, sorted(regime.vat.rates), seed=3)
    cols = {}
    for k, v in b.items():
        if k == "consignment":
            cols[k] = pa.array([f"C{x}" for x in v.tolist()])
        elif k in ("value", "freight"):  # minor units -> exact decimal text in major units
            exps = [dm.money.exponent(c) for c in b["currency"].tolist()]  # freight is in the items' currency
            cols[k] = pa.array([str(Decimal(m).scaleb(-e)) for m, e in zip(v.tolist(), exps)])
        elif k == "collected_at_sale":
            cols[k] = pa.array(v.tolist())
        else:
            cols[k] = pa.array([str(x) for x in v.tolist()])
    return pa.table(cols)


@pytest.fixture(scope="module")
def expected(table):
    rates = dm.ExchangeRates(DEMO_RATES, base="EUR")
    return dm.assess(table, regime=dm.regimes.get("EU", on=ON), tariff=dm.tariff.sample("EU"), rates=rates, on=ON)


def write(table, path):
    path = str(path)
    if path.endswith(".parquet"):
        pq.write_table(table, path, row_group_size=1500)
    elif path.endswith(".csv"):
        pacsv.write_csv(table, path)
    else:
        with open(path, "w") as f:
            for r in table.to_pylist():
                f.write(json.dumps(r) + "\n")
    return path


def with_value(table, row, value, column="value"):
    """The table with one cell replaced (row: 0-based)."""
    vals = table.column(column).to_pylist()
    vals[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(vals, table.schema.field(column).type))


def run(capsys, *args):
    code = main(["assess", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(folder):
    """Temporary files a failed write left behind."""
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


# ---- formats -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_each_input_format_gives_the_one_pass_result(table, expected, tmp_path, capsys, fmt):
    src = write(table, tmp_path / f"in.{fmt}")
    code, out, err = run(capsys, src, tmp_path / "out.parquet", *BASE, "--batch-rows", "777")
    assert code == 0, err
    got = pq.read_table(tmp_path / "out.parquet")
    for k in (*dm.assessment.ITEM_AMOUNTS, "rule"):
        assert np.array_equal(got.column(k).to_numpy(), expected.items[k]), k
    assert got.column("row").to_pylist() == list(range(1, 5001))
    assert got.column("consignment").to_pylist() == table.column("consignment").to_pylist()
    assert f"assessed {len(expected):,} items" in out


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_each_output_format_holds_the_parquet_result(table, tmp_path, capsys, fmt):
    src = write(table, tmp_path / "in.parquet")
    assert run(capsys, src, tmp_path / "a.parquet", *BASE)[0] == 0
    assert run(capsys, src, tmp_path / f"a.{fmt}", *BASE)[0] == 0
    ref = pq.read_table(tmp_path / "a.parquet")
    if fmt == "csv":
        got = pacsv.read_csv(tmp_path / "a.csv", convert_options=pacsv.ConvertOptions(
            column_types={k: pa.int64() for k in ref.column_names if k != "consignment"}))
        assert got.column_names == ref.column_names
        assert got.select([k for k in ref.column_names if k != "rule"]).equals(
            ref.select([k for k in ref.column_names if k != "rule"]))
    else:
        rows = [json.loads(line) for line in open(tmp_path / "a.jsonl")]
        assert rows == ref.to_pylist()


def test_csv_amounts_are_exact_decimals_not_floats(tmp_path, capsys):
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination\n"
                                     "A,6109100010,0.10,EUR,DE\nB,6109100010,0.105,EUR,DE\n")
    code, _, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", *BASE)
    assert code == 2  # 0.105 EUR has a digit too many: never rounded through a float
    assert "column 'value', row 2" in err and "'0.105'" in err
    assert not os.path.exists(tmp_path / "out.parquet") and not leftovers(tmp_path)
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination\nA,6109100010,0.10,EUR,DE\n")
    assert run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", *BASE)[0] == 0
    assert pq.read_table(tmp_path / "out.parquet").column("intrinsic").to_pylist() == [10]


def test_jsonl_numbers_are_read_exactly(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"consignment": 1, "hs_code": "6109100010", "value": 0.1, "currency": "EUR", '
                                       '"destination": "DE", "freight": 1e-1}\n')
    assert run(capsys, tmp_path / "in.jsonl", tmp_path / "out.parquet", *BASE)[0] == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("intrinsic").to_pylist() == [10]
    assert out.column("customs_value").to_pylist() == [20]  # 0.10 + 0.10 freight
    assert out.column("consignment").to_pylist() == ["1"]  # the id's text: no type is inferred


def test_csv_codes_keep_their_leading_zeros(tmp_path, capsys):
    dm.Tariff.from_records([{"code": "0101", "duty": "5%"}]).to_csv(str(tmp_path / "tariff.csv"))
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination\nA,0101210000,100,EUR,DE\n")
    code, _, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.csv", "--regime", "EU", "--on", "2026-11-28",
                       "--tariff", tmp_path / "tariff.csv", "--quiet", "--keep", "hs_code")
    assert code == 0, err
    out = pacsv.read_csv(tmp_path / "out.csv",
                         convert_options=pacsv.ConvertOptions(column_types={"hs_code": pa.string()}))
    assert out.column("hs_code").to_pylist() == ["0101210000"]
    assert out.column("duty").to_pylist() == [500]  # 5% of EUR 100: the line 0101 was found


def test_csv_collected_at_sale_is_read_from_text(tmp_path, capsys):
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination,collected_at_sale\n"
                                     "A,6109100010,10,EUR,DE,TRUE\nB,6109100010,10,EUR,DE,0\nC,6109100010,10,EUR,DE,yes\n")
    code, _, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", *BASE)
    assert code == 2
    assert "column 'collected_at_sale', row 3: must be true, false, 1 or 0 (got 'yes')" in err
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination,collected_at_sale\n"
                                     "A,6109100010,10,EUR,DE,TRUE\nB,6109100010,10,EUR,DE,0\n")
    assert run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", *BASE)[0] == 0
    vat_at_sale = pq.read_table(tmp_path / "out.parquet").column("vat_at_sale").to_pylist()
    assert vat_at_sale[0] > 0 and vat_at_sale[1] == 0


def test_format_option_names_the_output_format(table, tmp_path, capsys):
    src = write(table.slice(0, 20), tmp_path / "in.parquet")
    assert run(capsys, src, tmp_path / "out.data", *BASE, "--format", "csv")[0] == 0
    assert open(tmp_path / "out.data").readline().startswith('"row","consignment"')
    assert os.path.exists(tmp_path / "out.data.provenance.json")


def test_input_format_option(table, tmp_path, capsys):
    src = write(table.slice(0, 20), tmp_path / "in.csv")
    os.rename(src, tmp_path / "in.txt")
    assert run(capsys, tmp_path / "in.txt", tmp_path / "out.parquet", *BASE, "--input-format", "csv")[0] == 0
    code, _, err = run(capsys, tmp_path / "in.txt", tmp_path / "out2.parquet", *BASE)
    assert code == 2 and "cannot tell the format from the extension '.txt'" in err


def test_unknown_destination_extension_is_an_error(table, tmp_path, capsys):
    src = write(table.slice(0, 20), tmp_path / "in.parquet")
    code, out, err = run(capsys, src, tmp_path / "out.xlsx", *BASE)
    assert code == 2 and "deminimis: error:" in err and "'.xlsx'" in err
    assert os.listdir(tmp_path) == ["in.parquet"]


def test_csv_input_that_is_parquet_is_named_not_a_magic_bytes_crash(table, tmp_path, capsys):
    write(table.slice(0, 20), tmp_path / "in.parquet")
    os.rename(tmp_path / "in.parquet", tmp_path / "in.csv")
    code, _, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", *BASE)
    assert code == 2 and "in.csv: cannot read it as csv" in err
    assert not os.path.exists(tmp_path / "out.parquet")


# ---- whole or nothing ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink"])
def test_destination_that_is_the_source_is_refused(table, tmp_path, capsys, monkeypatch, how):
    src = write(table.slice(0, 50), tmp_path / "in.parquet")
    before = open(src, "rb").read()
    monkeypatch.chdir(tmp_path)
    dst = {"same": src, "dot": "./in.parquet", "symlink": str(tmp_path / "link.parquet"),
           "hardlink": str(tmp_path / "hard.parquet")}[how]
    if how == "symlink":
        os.symlink(src, dst)
    if how == "hardlink":
        os.link(src, dst)
    code, out, err = run(capsys, "in.parquet" if how == "dot" else src, dst, *BASE)
    assert code == 2
    assert "is the source file" in err and "refusing to overwrite the input" in err
    assert open(src, "rb").read() == before and not leftovers(tmp_path)


def test_failure_mid_file_leaves_an_existing_destination_untouched(table, tmp_path, capsys):
    src = write(with_value(table, 3999, "-1"), tmp_path / "in.csv")
    dst = tmp_path / "out.csv"
    dst.write_text("previous result\n")
    code, out, err = run(capsys, src, dst, *BASE, "--batch-rows", "1000")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(
        "deminimis: error: " + src + ": column 'value', row 4000: must not be negative (got ")
    assert dst.read_text() == "previous result\n"
    assert not os.path.exists(str(dst) + ".provenance.json") and not leftovers(tmp_path)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_failure_mid_file_writes_nothing(table, tmp_path, capsys, fmt):
    src = write(with_value(table, 3999, "1.2.3"), tmp_path / f"in.{fmt}")
    code, _, err = run(capsys, src, tmp_path / f"out.{fmt}", *BASE, "--batch-rows", "1000")
    assert code == 2 and "column 'value', row 4000" in err
    assert sorted(os.listdir(tmp_path)) == [f"in.{fmt}"]


def test_keyboard_interrupt_mid_write_leaves_nothing(table, tmp_path, monkeypatch):
    src = write(table, tmp_path / "in.parquet")
    real, calls = stream.output_table, []

    def interrupted(*a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(stream, "output_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        assess_file(src, str(tmp_path / "out.csv"), regime="EU", tariff=dm.tariff.sample("EU"), on=ON,
                    rates=dm.ExchangeRates(DEMO_RATES, base="EUR"), batch_rows=1000, progress=False)
    assert len(calls) == 2 and os.listdir(tmp_path) == ["in.parquet"]


def test_missing_destination_folder(table, tmp_path, capsys):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")
    code, _, err = run(capsys, src, tmp_path / "no" / "out.parquet", *BASE)
    assert code == 2 and "does not exist" in err


# ---- rows ----------------------------------------------------------------------------------

def test_engine_errors_name_the_file_row_across_batches(table, tmp_path, capsys):
    src = write(with_value(table, 3999, "XX", "hs_code"), tmp_path / "in.parquet")
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *BASE, "--batch-rows", "1000")
    assert code == 2 and "column 'hs_code', row 4000:" in err


def test_inconsistent_consignment_message_names_file_rows(table, tmp_path, capsys):
    ids = table.column("consignment").to_pylist()
    j = next(i for i in range(3001, 5000) if ids[i] == ids[i - 1])  # second item of a consignment
    src = write(with_value(table, j, "NL" if table.column("destination")[j].as_py() != "NL" else "DE", "destination"),
                tmp_path / "in.csv")
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *BASE, "--batch-rows", "1000")
    assert code == 2
    assert f"column 'destination', row {j + 1}: items of one consignment disagree (row {j} has another value)" in err


def test_python_api_rows_are_zero_based_positions_in_the_input(table, tmp_path):
    bad = with_value(table, 3999, "-1")
    with pytest.raises(dm.InvalidValueError) as info:
        list(iter_assess(bad.to_batches(max_chunksize=1000), regime="EU", tariff=dm.tariff.sample("EU"), on=ON,
                         rates=dm.ExchangeRates(DEMO_RATES, base="EUR")))
    assert info.value.row == 3999 and "row 3999" in str(info.value) and info.value.column == "value"


def test_jsonl_errors_name_the_row(tmp_path, capsys):
    lines = ['{"consignment": "A", "hs_code": "6109100010", "value": "1", "currency": "EUR", "destination": "DE"}'] * 3
    (tmp_path / "in.jsonl").write_text("\n".join(lines + ["{not json"]) + "\n")
    code, _, err = run(capsys, tmp_path / "in.jsonl", tmp_path / "out.parquet", *BASE)
    assert code == 2 and "row 4: not a JSON object" in err
    (tmp_path / "in.jsonl").write_text("\n".join(lines + [lines[0][:-1] + ', "Origin": "CN"}']) + "\n")
    code, _, err = run(capsys, tmp_path / "in.jsonl", tmp_path / "out.parquet", *BASE)
    assert code == 2 and "column 'Origin', row 4: a key that the first object does not have" in err
    assert not os.path.exists(tmp_path / "out.parquet")


def test_shift_rows_keeps_the_class_and_fields():
    exc = dm.errors.UnknownValueError("unknown", column="nature", row=1, value="row 1", allowed=("gift",))
    moved = shift_rows(exc, 4000)
    assert type(moved) is dm.errors.UnknownValueError and moved.allowed == ("gift",) and moved.row == 4001
    assert str(moved) == "column 'nature', row 4001: unknown; allowed: 'gift' (got 'row 1')"


# ---- empty input ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_empty_input_writes_an_empty_output_with_the_full_schema(table, tmp_path, capsys, fmt):
    src = write(table.slice(0, 0), tmp_path / f"in.{fmt}")
    code, out, err = run(capsys, src, tmp_path / "out.parquet", *BASE, "--keep", "hs_code")
    if fmt == "jsonl":  # an empty JSON Lines file has no columns at all: a kept one is text
        assert os.path.getsize(src) == 0
    assert code == 0, err
    got = pq.read_table(tmp_path / "out.parquet")
    assert got.num_rows == 0
    assert got.column_names == ["row", "consignment", "hs_code", *dm.assessment.ITEM_AMOUNTS, "rule"]
    assert "assessed 0 items in 0 consignments" in out
    meta = json.loads(pq.ParquetFile(tmp_path / "out.parquet").metadata.metadata[b"deminimis"])
    assert meta["rows"] == 0 and meta["regime"] == "EU-2026-07-01"


def test_zero_byte_csv_is_empty_input(tmp_path, capsys):
    (tmp_path / "in.csv").write_text("")
    code, out, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.csv", *BASE)
    assert code == 0, err
    assert open(tmp_path / "out.csv").read().startswith('"row","consignment","intrinsic"')


# ---- arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--rate", "USD"], "--rate 'USD': give CUR=decimal with an ISO 4217 currency"),
    (["--rate", "XXX=1.2"], "--rate 'XXX=1.2': give CUR=decimal"),
    (["--rate", "USD=abc"], "--rate 'USD=abc': the rate must be a positive decimal number"),
    (["--rate", "USD=-1"], "the rate must be a positive decimal number"),
    (["--rate", "USD=1", "--rate", "USD=2"], "--rate USD is given twice"),
    (["--on", "28/11/2026"], "--on '28/11/2026': give the assessment date as YYYY-MM-DD"),
    (["--on", "2026-02-30"], "--on '2026-02-30': give the assessment date as YYYY-MM-DD"),
    (["--batch-rows", "0"], "--batch-rows '0': give a positive whole number"),
    (["--batch-rows", "-5"], "--batch-rows '-5': give a positive whole number"),
    (["--batch-rows", "many"], "--batch-rows 'many': give a positive whole number"),
    (["--threads", "0"], "--threads '0': give a positive whole number"),
    (["--tariff", "sample:XX"], "--tariff 'sample:XX': no sample tariff for 'XX'"),
    (["--tariff", "rates.txt"], "--tariff 'rates.txt': not one of sample:EU"),
    (["--tariff", "usitc:"], "--tariff 'usitc:': give a file after usitc:"),
    (["--regime", "XX"], "no built-in regime 'XX'"),
    (["--format", "xlsx"], "argument --format: invalid choice: 'xlsx'"),
    (["--nonsense"], "unrecognized arguments: --nonsense"),
])
def test_bad_arguments_are_one_line_and_exit_2(table, tmp_path, capsys, args, message):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")
    base = {"--regime": "EU", "--tariff": "sample:EU", "--on": "2026-11-28"}
    for k in args:
        base.pop(k, None)
    code, out, err = run(capsys, src, tmp_path / "out.parquet", *[x for kv in base.items() for x in kv], *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("deminimis: error: ") and message in err, err
    assert "Traceback" not in err and os.listdir(tmp_path) == ["in.parquet"]


def test_missing_source_file(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "absent.parquet", tmp_path / "out.parquet", *BASE)
    assert code == 2 and err == f"deminimis: error: {tmp_path / 'absent.parquet'}: No such file or directory\n"


def test_on_is_needed_without_a_date_column(table, tmp_path, capsys):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")
    args = [a for a in BASE if a not in ("--on", "2026-11-28")]
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *args)
    assert code == 2 and "has no 'date' column: give --on or a date column" in err
    dated = table.slice(0, 10).append_column("date", pa.array(["2026-11-28"] * 10))
    src = write(dated, tmp_path / "dated.parquet")
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *args)
    assert code == 0, err
    prov = json.loads(pq.ParquetFile(tmp_path / "out.parquet").metadata.metadata[b"deminimis"])
    assert (prov["assessment_date"], prov["dates"]) == ("per-row", ["2026-11-28", "2026-11-28"])


def test_debug_prints_the_traceback(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "absent.parquet", tmp_path / "out.parquet", *BASE, "--debug")
    assert code == 2 and "Traceback (most recent call last)" in err and "FileNotFoundError" in err
    assert err.strip().splitlines()[-1].startswith("deminimis: error: ")


def test_a_library_bug_exits_1_with_its_traceback(table, tmp_path, capsys, monkeypatch):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")

    def broken(*a, **k):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(stream, "assess", broken)
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *BASE)
    assert code == 1 and "Traceback" in err and "RuntimeError: planted bug" in err and "internal error" in err
    assert os.listdir(tmp_path) == ["in.parquet"]


def test_exit_codes_through_a_subprocess(table, tmp_path):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")
    cmd = [sys.executable, "-m", "deminimis.cli", "assess", src]
    ok = subprocess.run([*cmd, str(tmp_path / "out.parquet"), *BASE], capture_output=True, text=True)
    assert ok.returncode == 0 and "assessed 10 items" in ok.stdout
    bad = subprocess.run([*cmd, str(tmp_path / "out2.parquet"), *BASE, "--on", "tomorrow"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr == "deminimis: error: --on 'tomorrow': give the assessment date as " \
                                                 "YYYY-MM-DD (e.g. 2026-11-28)\n"
    assert not os.path.exists(tmp_path / "out2.parquet")


# ---- output content ------------------------------------------------------------------------

def test_keep_copies_input_columns_through(table, tmp_path, capsys):
    src = write(table.slice(0, 100), tmp_path / "in.parquet")
    assert run(capsys, src, tmp_path / "out.parquet", *BASE, "--keep", "hs_code", "--keep", "origin")[0] == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names[:4] == ["row", "consignment", "hs_code", "origin"]
    assert out.column("hs_code").equals(table.slice(0, 100).column("hs_code"))
    code, _, err = run(capsys, src, tmp_path / "o2.parquet", *BASE, "--keep", "invoice")
    assert code == 2 and "no column 'invoice' to keep" in err
    code, _, err = run(capsys, src, tmp_path / "o3.parquet", *BASE, "--keep", "consignment")
    assert code == 2 and "cannot keep column 'consignment'" in err
    assert sorted(os.listdir(tmp_path)) == ["in.parquet", "out.parquet"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_major_units_are_exact_decimals(tmp_path, capsys, fmt):
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination\nA,6109100010,20.05,EUR,DE\n")
    assert run(capsys, tmp_path / "in.csv", tmp_path / f"out.{fmt}", *BASE, "--major-units")[0] == 0
    if fmt == "parquet":
        out = pq.read_table(tmp_path / "out.parquet")
        assert out.schema.field("intrinsic").type == pa.decimal128(19, 2)
        assert out.column("intrinsic").to_pylist() == [Decimal("20.05")]
    else:
        out = pacsv.read_csv(tmp_path / "out.csv", convert_options=pacsv.ConvertOptions(
            column_types={"intrinsic": pa.string(), "vat": pa.string()}))
        assert run(capsys, tmp_path / "in.csv", tmp_path / "minor.csv", *BASE)[0] == 0
        vat = pacsv.read_csv(tmp_path / "minor.csv").column("vat").to_pylist()[0]
        assert out.column("intrinsic").to_pylist() == ["20.05"]
        assert out.column("vat").to_pylist() == [str(Decimal(vat).scaleb(-2))] and vat % 100


def test_provenance_in_parquet_metadata(table, expected, tmp_path, capsys):
    src = write(table, tmp_path / "in.parquet")
    assert run(capsys, src, tmp_path / "out.parquet", *BASE, "--batch-rows", "999")[0] == 0
    meta = json.loads(pq.ParquetFile(tmp_path / "out.parquet").metadata.metadata[b"deminimis"])
    for k in ("version", "regime", "regime_hash", "tariff_hash", "rates_hash", "assessment_date", "currency"):
        assert meta[k] == expected.provenance[k], k
    assert meta["input_sha256"] == hashlib.sha256(open(src, "rb").read()).hexdigest()
    assert meta["rows"] == 5000
    assert {k: meta["summary"][k] for k in ("items", "total", "duty", "items_cannot_assess")} == \
        {k: expected.summary()[k] for k in ("items", "total", "duty", "items_cannot_assess")}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_provenance_sidecar(table, expected, tmp_path, capsys, fmt):
    src = write(table, tmp_path / "in.csv")
    assert run(capsys, src, tmp_path / f"out.{fmt}", *BASE)[0] == 0
    side = json.load(open(tmp_path / f"out.{fmt}.provenance.json"))
    assert side["input_sha256"] == hashlib.sha256(open(src, "rb").read()).hexdigest()
    assert side["output_sha256"] == hashlib.sha256(open(tmp_path / f"out.{fmt}", "rb").read()).hexdigest()
    assert side["regime_hash"] == expected.provenance["regime_hash"] and side["rows"] == 5000
    assert side["summary"]["total"] == expected.summary()["total"]


def test_summary_reports_items_that_cannot_be_assessed(tmp_path, capsys):
    dm.Tariff.from_records([{"code": "0101", "duty": "5%"}, {"code": "0201", "duty": "12% + EA"}]).to_csv(
        str(tmp_path / "tariff.csv"))
    (tmp_path / "in.csv").write_text("consignment,hs_code,value,currency,destination\n"
                                     "A,0101210000,100,EUR,DE\nB,0201100000,200.50,EUR,DE\nC,0201100000,10,EUR,DE\n")
    code, out, err = run(capsys, tmp_path / "in.csv", tmp_path / "out.parquet", "--regime", "EU", "--on",
                         "2026-11-28", "--tariff", tmp_path / "tariff.csv", "--quiet")
    assert code == 0, err
    assert "2 items could not be assessed, of value 210.50 EUR: their duty is NOT zero" in out


# ---- streaming -----------------------------------------------------------------------------

def test_consignment_reappearing_two_batches_later_is_refused(table, tmp_path, capsys):
    ids = table.column("consignment").to_pylist()
    src = write(with_value(table, 3500, ids[100], "consignment"), tmp_path / "in.csv")
    code, _, err = run(capsys, src, tmp_path / "out.parquet", *BASE, "--batch-rows", "1000")
    assert code == 2
    assert f"column 'consignment', row 3501: consignment {ids[100]!r} reappears after its items ended" in err
    assert os.listdir(tmp_path) == ["in.csv"]


@pytest.mark.parametrize("one_shot", [False, True])
def test_iter_assess_refuses_a_reappearance_any_chunks_later(table, one_shot):
    ids = table.column("consignment").to_pylist()
    bad = with_value(table, 4500, ids[0], "consignment")
    batches = bad.to_batches(max_chunksize=500)
    with pytest.raises(dm.InconsistentConsignmentError, match="reappears") as info:
        list(iter_assess(iter(batches) if one_shot else batches, regime="EU", tariff=dm.tariff.sample("EU"), on=ON,
                         rates=dm.ExchangeRates(DEMO_RATES, base="EUR")))
    assert info.value.row == 4500


def test_fingerprint_collisions_are_confirmed_exactly(table, expected, monkeypatch):
    # every id gets the same fingerprint: each is a candidate, none is a reappearance
    monkeypatch.setattr(SeenIds, "fingerprints", staticmethod(lambda ids: np.arange(1, len(ids) + 1, dtype=np.uint64)))
    chunks = list(iter_assess(table.to_batches(max_chunksize=1000), regime="EU", tariff=dm.tariff.sample("EU"),
                              on=ON, rates=dm.ExchangeRates(DEMO_RATES, base="EUR")))
    assert sum(c.num_rows for c, _ in chunks) == 5000


def test_seen_ids_table_grows_and_finds_what_it_holds():
    seen = SeenIds()
    rng = np.random.default_rng(1)
    a = np.unique(rng.integers(1, 2**63, size=200_000, dtype=np.int64)).astype(np.uint64)
    assert not seen.add(a[:150_000]).any()
    present = seen.add(a[100_000:])
    assert present[:50_000].all() and not present[50_000:].any() and seen.count == len(a)


@pytest.mark.parametrize("rows", [0, -5])
def test_batch_rows_must_be_positive(table, tmp_path, rows):
    src = write(table.slice(0, 10), tmp_path / "in.parquet")
    with pytest.raises(ValueError, match="batch_rows must be a positive integer"):
        assess_parquet(src, str(tmp_path / "out.parquet"), regime="EU", tariff=dm.tariff.sample("EU"), on=ON,
                       rates=dm.ExchangeRates(DEMO_RATES, base="EUR"), batch_rows=rows, progress=False)
    assert os.listdir(tmp_path) == ["in.parquet"]
