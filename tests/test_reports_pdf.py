"""Coach PDF: content checked against the database, pages render, fonts embedded, bad input.

The database is built with the storage helper's ``save_trial_result`` from generated trials
(:mod:`test_reports_synth`): known patterns, amplitudes and readings, so every number and
reading the PDF shows is checked against what is stored.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from test_reports_synth import SynthTrial, store
from test_storage_fixtures import db_url  # noqa: F401 (fixture: fresh SQLite file or PG schema)

from liftlab.core.errors import InputError
from liftlab.reports.pdf import build_report, build_session_reports
from liftlab.reports.text import READING_LABELS
from liftlab.storage.db import open_database
from liftlab.storage.inputs import StrengthMeasurement
from liftlab.storage.models import Athlete, LabSession, Rep, Trial
from liftlab.storage.repository import save_strength_test

JANE_LIFTS = [
    SynthTrial("squat_60kg", "transient", 22.0, 18.0, load_kg=60, reading="red_flag",
               reasons=("light_load",)),
    SynthTrial("squat_100kg", "none", 6.0, 5.0, load_kg=100),
    SynthTrial("squat_130kg", "transient", 19.0, 12.0, load_kg=130, reading="transient"),
    SynthTrial("squat_140kg", "persistent", 30.0, 14.0, load_kg=140, reading="red_flag",
               reasons=("persistent", "pain"), pain=(2, 4, 5),
               rep_readings=("red_flag", "transient", "red_flag")),
    SynthTrial("knee_curl", exercise="knee_curl", load_kg=None, n_reps=0),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("reports")
    db = open_database(f"sqlite:///{root / 'lab.db'}")
    store(db, "Jane Doe", [SynthTrial("squat_100kg", "transient", 25, 20, reading="transient")],
          date="2026-10-01", session="jane_oct")
    store(db, "Jane Doe", JANE_LIFTS, date="2026-11-24", session="jane_nov",
          folder=root / "jane_nov", media=True, pain_outside=("walking",))
    store(db, "John Roe", [
        SynthTrial("front_60kg", "none", 4, 3, exercise="front_squat", load_kg=60,
                   alignment_source="assumed", build_offset_mm=25),
        SynthTrial("front_80kg", n_reps=0, exercise="front_squat", load_kg=80,
                   alignment_source="assumed", reading="none")],
          date="2026-11-24", session="john_nov")
    store(db, "Kim Poe", [SynthTrial("squat_90kg", "none", 5, 4, load_kg=90,
                                     build_offset_mm=30)], date="2026-11-20", session="kim")
    for side, position, value in (("left", "seated", 240.0), ("right", "seated", 320.0),
                                  ("left", "supine", 300.0), ("right", "supine", 310.0)):
        save_strength_test(db, StrengthMeasurement(
            athlete="Jane Doe", muscle_group="quadriceps", side=side, position=position,
            value=value, unit="N", date="2026-11-24"))
    save_strength_test(db, StrengthMeasurement(athlete="Ann Empty", muscle_group="gluteus medius",
                                               side="left", position="side_lying", value=90,
                                               unit="N"))
    reports = {name: build_report(db, name, out=root / f"{name.split()[0]}.pdf")
               for name in ("Jane Doe", "John Roe", "Kim Poe")}
    yield {"db": db, "root": root, "pdf": reports}
    db.dispose()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def flat(text: str) -> str:
    """Text with line breaks as spaces (table cells and wrapped sentences)."""
    return re.sub(r"\s+", " ", text)


def sections(text: str) -> dict[str, str]:
    """Per-lift sections of the report text, keyed by trial name."""
    parts = re.split(r"\nLift (\S+): ", text)
    out = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        out[name] = body.split("\nAcross sets")[0].split("\nHow to read this report")[0]
    return out


def stored_trials(db, athlete: str, session: str) -> list[Trial]:
    with db.read() as s:
        return list(s.scalars(sa.select(Trial).join(LabSession).join(Athlete).where(
            Athlete.name == athlete, LabSession.name == session,
            Trial.exercise != "knee_curl").order_by(Trial.id)))


def test_readings_in_pdf_match_database(lab: dict) -> None:
    text = pdf_text(lab["pdf"]["Jane Doe"])
    parts = sections(text)
    trials = stored_trials(lab["db"], "Jane Doe", "jane_nov")
    assert {t.reading for t in trials} == {"none", "transient", "red_flag"}
    assert sorted(parts) == sorted(t.name for t in trials)
    for trial in trials:
        heading = re.search(r"Reading: (.+)", parts[trial.name]).group(1)
        assert heading.startswith(READING_LABELS[trial.reading]), (trial.name, heading)
        for other in set(READING_LABELS) - {trial.reading}:
            assert not heading.startswith(READING_LABELS[other])


def test_rep_readings_in_pdf_match_database(lab: dict) -> None:
    parts = sections(pdf_text(lab["pdf"]["Jane Doe"]))
    with lab["db"].read() as s:
        for trial in stored_trials(lab["db"], "Jane Doe", "jane_nov"):
            reps = list(s.scalars(sa.select(Rep).where(Rep.trial_id == trial.id)))
            table = flat(parts[trial.name].split("Reading\n", 1)[1].split("Left-right")[0])
            for reading, label in READING_LABELS.items():
                assert table.count(label) == sum(r.reading == reading for r in reps), \
                    (trial.name, reading, table)


def test_numbers_in_pdf_match_database(lab: dict) -> None:
    text = flat(pdf_text(lab["pdf"]["Jane Doe"]))
    with lab["db"].read() as s:
        for trial in stored_trials(lab["db"], "Jane Doe", "jane_nov"):
            left = s.scalar(sa.select(sa.func.max(Rep.left_medial_knee_shift_peak_mm))
                            .where(Rep.trial_id == trial.id))
            right = s.scalar(sa.select(sa.func.max(Rep.right_medial_knee_shift_peak_mm))
                             .where(Rep.trial_id == trial.id))
            assert (f"peak inward knee shift {left:.0f} mm left, {right:.0f} mm right"
                    in text), trial.name
            assert f"{trial.load_kg:g} kg ({trial.percent_1rm:.0f}% 1RM)" in text
    # the generated amplitudes are the analytic truth of those stored peaks
    assert "peak inward knee shift 30 mm left, 14 mm right" in text


def test_summary_page_content(lab: dict) -> None:
    reader = pypdf.PdfReader(lab["pdf"]["Jane Doe"])
    first = flat(reader.pages[0].extract_text())
    assert "Knee tracking report: Jane Doe" in first
    assert "jane_nov" in first and "24 November 2026" in first
    assert "In brief: 4 lifts read: 2 red flag; 1 transient (controlled); 1 no valgus" in first
    assert "Why: at a light load" in first and "(43% of 1RM)" in first
    assert "Pain outside lifting" in first and "walking" in first
    assert "Alignment source: calibration" in first
    assert "The knees cave in during the rep" in first
    assert "knee-curl movement at the next session" not in first
    assert "Knee-curl alignment movement recorded in this session: knee_curl" in first


def test_alignment_build_vs_cave_in(lab: dict) -> None:
    kim = flat(pdf_text(lab["pdf"]["Kim Poe"]))
    assert "track inside the toes because of the athlete's build" in kim
    john = flat(pdf_text(lab["pdf"]["John Roe"]))
    assert "Alignment source: assumed" in john
    assert "we cannot tell whether that is the athlete's build" in john
    assert "record the 20-second knee-curl movement" in john


def test_trial_without_reps_says_so(lab: dict) -> None:
    parts = sections(pdf_text(lab["pdf"]["John Roe"]))
    assert "Reading: Not read" in parts["front_80kg"]
    assert "No repetitions were found in this trial" in flat(parts["front_80kg"])


def test_still_frame_or_reason(lab: dict) -> None:
    jane = flat(pdf_text(lab["pdf"]["Jane Doe"]))
    assert "Camera cam1 at 0.67 s (rep 1)" in jane  # persistent plateau starts at 1/3 of descent
    reader = pypdf.PdfReader(lab["pdf"]["Jane Doe"])
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 4 + 4 + 1 + 1  # 4 curves, 4 stills, summary, trend (+ load)
    john = flat(pdf_text(lab["pdf"]["John Roe"]))
    assert "No still frame: no camera video is recorded for this trial." in john


def test_trend_strength_method_sections(lab: dict) -> None:
    jane = flat(pdf_text(lab["pdf"]["Jane Doe"]))
    assert "Trend across sessions" in jane and "jane_oct" in jane
    assert "quadriceps, left: position-dependent deficit" in jane
    assert "Across sets" in jane
    assert "not medical advice" in jane.lower()
    assert "inward shift counted from 15 mm" in jane
    assert "mediapipe-0.10.21" in jane and "0.61 px" in jane
    john = flat(pdf_text(lab["pdf"]["John Roe"]))
    assert "Trend across sessions" not in john
    assert "Strength by test position" not in john


@pytest.mark.parametrize("page, size", [("a4", (595, 842)), ("letter", (612, 792))])
def test_pages_render_with_embedded_fonts(lab: dict, tmp_path: Path, page: str,
                                          size: tuple[int, int]) -> None:
    out = build_report(lab["db"], "Jane Doe", out=tmp_path / f"jane_{page}.pdf", page=page)
    reader = pypdf.PdfReader(out)
    for p in reader.pages:
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == size
        for font in p["/Resources"]["/Font"].values():
            font = font.get_object()
            assert "DejaVuSans" in font["/BaseFont"]
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font \
                else font
            assert "/FontFile2" in descendant["/FontDescriptor"]
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    result = subprocess.run(["pdftoppm", "-r", "20", "-png", str(out), str(tmp_path / "pg")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr
    assert len(list(tmp_path.glob("pg-*.png"))) == len(reader.pages)


def test_session_reports_one_pdf_per_athlete_of_the_day(lab: dict, tmp_path: Path) -> None:
    paths = build_session_reports(lab["db"], "2026-11-24", tmp_path / "day")
    names = sorted(p.name for p in paths)
    assert names == ["Jane_Doe_2026-11-24_jane_nov.pdf", "John_Roe_2026-11-24_john_nov.pdf"]
    for path in paths:
        athlete = path.name.split("_2026")[0].replace("_", " ")
        assert f"Knee tracking report: {athlete}" in pdf_text(path)


@pytest.mark.parametrize("athlete, session, page, match", [
    ("Jane Do", None, "a4", r"No athlete named 'Jane Do'.*close names: Jane Doe"),
    ("Nobody At All", None, "a4", r"No athlete named .*athletes in the database: Ann Empty"),
    ("Ann Empty", None, "a4", r"has no processed trials"),
    ("Jane Doe", "no_such_session", "a4", r"No session of 'Jane Doe' match.*jane_oct"),
    ("Jane Doe", None, "a5", r"Expected page 'a4' or 'letter'"),
])
def test_bad_input_clear_message_no_file(lab: dict, tmp_path: Path, athlete: str,
                                         session: str | None, page: str, match: str) -> None:
    out = tmp_path / "x.pdf"
    with pytest.raises(InputError, match=match):
        build_report(lab["db"], athlete, session=session, out=out, page=page)  # type: ignore[arg-type]
    assert not out.exists()


def test_case_insensitive_name_and_older_session(lab: dict, tmp_path: Path) -> None:
    out = build_report(lab["db"], "jane doe", session="2026-10-01", out=tmp_path / "old.pdf")
    text = flat(pdf_text(out))
    assert "Session jane_oct" in text and "squat_140kg" not in text
    assert "jane_nov (this report)" not in text and "jane_oct (this report)" in text


def test_cli_report(lab: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from liftlab.cli import main

    url = str(lab["db"].engine.url)
    out = tmp_path / "cli.pdf"
    assert main(["report", "--athlete", "Jane Doe", "--db", url, "--out", str(out),
                 "--page", "letter"]) == 0
    assert out.is_file() and "Jane Doe" in pdf_text(out)
    assert main(["report", "--athlete", "Jnae Doe", "--db", url, "--out", str(out)]) == 2
    assert "close names: Jane Doe" in capsys.readouterr().err
    assert main(["report", "--all", "--session", "2026-11-24", "--db", url,
                 "--out", str(tmp_path / "all")]) == 0
    assert len(list((tmp_path / "all").glob("*.pdf"))) == 2
    assert main(["report", "--db", url, "--out", str(out)]) == 2


def test_cli_out_folder_names_pdf_after_athlete(lab: dict, tmp_path: Path) -> None:
    from liftlab.cli import main

    assert main(["report", "--athlete", "Kim Poe", "--db", str(lab["db"].engine.url),
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "Kim_Poe.pdf").is_file()


def test_report_on_each_backend(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """The same report from SQLite and PostgreSQL (when LIFTLAB_TEST_PG_URL is set)."""
    db = open_database(db_url)
    try:
        store(db, "Pat Lee", [
            SynthTrial("heavy", "transient", 21, 16, load_kg=130, reading="transient"),
            SynthTrial("light", "transient", 24, 10, load_kg=60, reading="red_flag",
                       reasons=("light_load",))], session="s2")
        store(db, "Pat Lee", [SynthTrial("old", "none", 4, 3)], date="2026-01-10",
              session="s1")
        out = build_report(db, "Pat Lee", out=tmp_path / "pat.pdf")
    finally:
        db.dispose()
    parts = sections(pdf_text(out))
    assert re.search(r"Reading: (.+)", parts["heavy"]).group(1) == "Transient (controlled)"
    assert re.search(r"Reading: (.+)", parts["light"]).group(1) == "Red flag: light load"
    assert "Trend across sessions" in pdf_text(out)
