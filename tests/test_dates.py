"""Dates in a day-first practice (UK, Ireland, Australia): the export's date column and the
dates a note writes are read the same way, by one rule (README: the config file, `dates`)."""
from __future__ import annotations

import pytest

from notesplugin.config import ConfigError, load_config
from notesplugin.readers.csv_reader import read_csv


def _config(tmp_path, dates: str):
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text(f'[practice]\nname = "Riverbend"\ndates = "{dates}"\n', encoding="utf-8")
    return load_config(cfg)


def test_a_day_first_practice_reads_its_export_dates_day_first(tmp_path):
    export = tmp_path / "notes.csv"
    export.write_text("Date,Clinician,Client,Note\n03/04/2026,Dana W,A.,Cl tearful.\n14/04/2026,Dana W,A.,Cl calm.\n",
                      encoding="utf-8")
    day_first = read_csv(export, _config(tmp_path, "day-first")).notes
    assert [n.date for n in day_first] == ["2026-04-03", "2026-04-14"]
    # 14/04 can only be day-first: the file's own proof settles 03/04 too, and says so
    month_first = read_csv(export, _config(tmp_path, "month-first"))
    assert [n.date for n in month_first.notes] == ["2026-04-03", "2026-04-14"]
    assert any("dates read day-first (14/04/2026" in w for w in month_first.warnings)


def test_an_export_without_proof_follows_the_practice(tmp_path):
    export = tmp_path / "notes.csv"
    export.write_text("Date,Clinician,Client,Note\n03/04/2026,Dana W,A.,Cl tearful.\n05/06/2026,Dana W,A.,Cl calm.\n",
                      encoding="utf-8")
    got = read_csv(export, _config(tmp_path, "month-first"))
    assert [n.date for n in got.notes] == ["2026-03-04", "2026-05-06"]
    assert not any("dates read" in w for w in got.warnings)


def test_a_day_first_export_is_read_day_first_with_no_setting(tmp_path):
    # a UK practice that never set [practice] dates: 25/12 in the column proves the order, so 12/09 is
    # 12 September, not 9 December (a wrong date moves a finding to another week and another gap)
    export = tmp_path / "uk.csv"
    export.write_text("Clinician,Client,Date,Note\nDr Lee,A.,12/09/2026,Cl tearful.\nDr Lee,B.,3rd Dec 2026,Cl calm.\n"
                      "Dr Lee,C.,25/12/2026,Cl angry.\nDr Lee,D.,2026-12-05,Cl flat.\n", encoding="utf-8")
    got = read_csv(export, load_config(None))
    assert [n.date for n in got.notes] == ["2026-09-12", "2026-12-03", "2026-12-25", "2026-12-05"]
    assert [w for w in got.warnings if "dates read" in w] == [
        "uk.csv: dates read day-first (25/12/2026 in the file can only be day-first, so 12/09/2026 is 2026-09-12); "
        "if that is wrong, fix the cells or set [practice] dates in notesplugin.toml"]


def test_a_column_that_proves_both_orders_is_left_to_the_practice_and_named(tmp_path):
    export = tmp_path / "mixed.csv"
    export.write_text("Clinician,Client,Date,Note\nDr Lee,A.,25/12/2026,Cl tearful.\nDr Lee,B.,12/25/2026,Cl calm.\n"
                      "Dr Lee,C.,05/03/2026,Cl angry.\n", encoding="utf-8")
    got = read_csv(export, load_config(None))
    assert [n.date for n in got.notes] == ["2026-12-25", "2026-12-25", "2026-05-03"]
    assert any("mixes day-first (25/12/2026) and month-first (12/25/2026)" in w for w in got.warnings)


def test_each_sheet_of_a_workbook_settles_its_own_dates(tmp_path):
    import openpyxl

    from notesplugin.readers.xlsx_reader import read_xlsx
    wb = openpyxl.Workbook()
    uk = wb.active
    uk.title = "London"
    uk.append(["Clinician", "Client", "Date", "Note"])
    uk.append(["Dr Lee", "A.", "12/09/2026", "Cl tearful."])
    uk.append(["Dr Lee", "B.", "25/12/2026", "Cl calm."])
    us = wb.create_sheet("Boston")
    us.append(["Clinician", "Client", "Date", "Note"])
    us.append(["Dr Ray", "C.", "12/09/2026", "Cl tearful."])
    us.append(["Dr Ray", "D.", "12/25/2026", "Cl calm."])
    wb.save(tmp_path / "two.xlsx")
    got = read_xlsx(tmp_path / "two.xlsx", load_config(None))
    assert [n.date for n in got.notes] == ["2026-09-12", "2026-12-25", "2026-12-09", "2026-12-25"]
    assert [w.split(":")[0] for w in got.warnings if "dates read" in w] == ["two.xlsx 'London'"]


def test_a_wrong_dates_value_is_one_line_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"'practice.dates' must be \"month-first\" .* or \"day-first\""):
        _config(tmp_path, "dd/mm")


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "12/31/9999", "1 January 1066"])
def test_a_placeholder_year_is_no_date_and_is_kept_as_written(tmp_path, raw):
    # EHRs write 9999-12-31 or 0001-01-01 for "no date"; as a date it broke the weekly summary.
    export = tmp_path / "notes.csv"
    export.write_text(f'Date,Clinician,Client,Note\n"{raw}",Dana W,A.,Cl tearful.\n2026-03-02,Dana W,A.,Cl calm.\n',
                      encoding="utf-8")
    placeholder, real = read_csv(export, load_config(None)).notes
    assert placeholder.date is None and placeholder.fields["date"] == raw
    assert real.date == "2026-03-02"
