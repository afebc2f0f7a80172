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
    month_first = read_csv(export, _config(tmp_path, "month-first")).notes
    assert [n.date for n in month_first] == ["2026-03-04", "2026-04-14"]  # 14/04 can only be day-first


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
