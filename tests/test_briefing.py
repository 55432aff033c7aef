"""The briefing pack on the embedded default data: the command line, the PDF's text, the HTML file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from measures import cli
from measures.core import export, registry
from measures.paths import DEFAULT_DATA_DIR
from measures.render import briefing
from tests.conftest import REPO

EXETER, NORTH_DEVON = "E22000049", "E22000363"


def pdf_text(path: Path) -> str:
    """The PDF's text with line breaks and repeated spaces folded (table cells wrap titles)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


@pytest.fixture(scope="module")
def exeter_pdf(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "exeter.pdf"
    done = subprocess.run([sys.executable, "-m", "measures", "briefing", "--area", EXETER, "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    return out


def test_the_pdf_is_a4_and_names_exeter_every_measure_and_what_is_illustrative(exeter_pdf):
    reader = PdfReader(exeter_pdf)
    assert len(reader.pages) >= 4  # cover, spine chart and findings, themes, sources
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = pdf_text(exeter_pdf)
    assert "Exeter: Police and Crime Plan measures" in text
    for title in registry.as_table()["title"]:  # what `python -m measures list` prints
        assert title in text, title
    assert "Illustrative data, not official statistics" in text
    flags = export.illustrative_by_measure(DEFAULT_DATA_DIR)  # the default data's rows, as loaded
    illustrative = sum(flags.values())
    assert f"{illustrative} of the {len(registry.measures())} measures" in text  # how many, then which
    for measure in registry.measures():  # the cover's data-dates table says which measure is which
        status = re.search(re.escape(measure.title) + r" .*?(Illustrative|Official / open data)", text).group(1)
        assert status == ("Illustrative" if flags[measure.id] else "Official / open data"), measure.id
    assert "Contains public sector information licensed under the Open Government Licence v3.0" in text
    assert "Findings" in text and "Sources and methods" in text
    assert "Data dates" in text and "Jan 2025 to Dec 2025" in text
    # A finding backed by a 99.8% comparison (Exeter's recorded crime is far above the force's).
    assert re.search(r"Exeter's rate of recorded crime \(police\.uk\) \([\d.]+ per 1,000 residents in 6 months\) "
                     r"is significantly higher than the force's \([\d.]+; 99\.8% limits\), which is worse", text)


def test_the_html_pack_is_one_self_contained_file(tmp_path):
    out = tmp_path / "exeter.html"
    assert cli.main(["briefing", "--area", EXETER, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "<title>Exeter: Police and Crime Plan measures, Jan 2025 to Dec 2025</title>" in html
    # Opens offline: no scripts, style sheets, images or fonts fetched from anywhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html and "url(" not in html
    assert html.count('class="chart spine"') == 1
    assert html.count('class="chart locator"') == 1
    assert html.count('class="chart sparkline"') == len(registry.measures())
    for title in registry.as_table()["title"]:
        assert title in html.replace("&#x27;", "'"), title


def test_the_public_pack_shows_suppressed_figures_as_suppressed_and_draws_no_finding_from_them(tmp_path):
    public, analyst = tmp_path / "north_devon_public.html", tmp_path / "north_devon.html"
    # North Devon's modern slavery in 2019 (published by year on the public site) was fewer than 5.
    public_pack = briefing.briefing(NORTH_DEVON, public, DEFAULT_DATA_DIR, "2019-01", "2019-12", public=True)
    analyst_pack = briefing.briefing(NORTH_DEVON, analyst, DEFAULT_DATA_DIR, "2019-01", "2019-12")
    suppressed = [row for row in public_pack.rows if row.status == "suppressed"]
    assert suppressed, "North Devon's 2019 modern slavery count is small: it must be suppressed"
    html = public.read_text(encoding="utf-8")
    assert briefing.SUPPRESSION_NOTE in html
    for row in suppressed:
        assert row.measure.disclosure_control
        cell = re.search(f"<tr data-measure='{row.measure.id}'><td>.*?</td><td class='num'>(.*?)</td>", html).group(1)
        assert cell == "suppressed", (row.measure.id, cell)
        assert not any(row.measure.title.lower() in text.lower() for text in public_pack.findings)
        # The analyst's pack has the figure: suppression hid a real value, it did not replace it with 0.
        analyst_row = next(r for r in analyst_pack.rows if r.measure.id == row.measure.id)
        assert analyst_row.status == "ok"
    assert "suppressed" in "".join(public_pack.table["value_text"])
    assert "suppressed" not in "".join(analyst_pack.table["value_text"])


def test_a_chosen_period_and_the_force_as_the_area(tmp_path):
    out = tmp_path / "force.html"
    pack = briefing.briefing("E23000035", out, DEFAULT_DATA_DIR, "2024-01", "2024-04")
    assert pack.period == "Jan 2024 to Apr 2024"
    assert all(row.comparison == "not compared" for row in pack.rows)  # the force is the benchmark
    recorded = next(row for row in pack.rows if row.measure.id == "recorded_crime")
    assert [p.strftime("%Y-%m") for p in recorded.periods] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert "Jan 2024 to Apr 2024 (4 months)" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--area", "E22999999", "--out", "x.pdf"], "unknown area 'E22999999'"),
    (["--area", EXETER, "--out", "x.docx"], "give a file ending .pdf or .html"),
    (["--area", EXETER, "--from", "2025-06", "--to", "2025-01", "--out", "x.pdf"], "--from 2025-06 is after --to 2025-01"),
    (["--area", EXETER, "--from", "2025-13", "--out", "x.pdf"], "--from"),
])
def test_bad_requests_are_refused_with_one_line(tmp_path, capsys, argv, message):
    argv = [a if a not in ("x.pdf", "x.docx") else str(tmp_path / a) for a in argv]
    assert cli.main(["briefing", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing written
