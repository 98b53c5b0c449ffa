"""Report from real analysis output: virtual-lab motion -> metrics.analyze -> storage -> PDF.

The trials are simulated with known valgus patterns (capture.virtual), read by
:func:`liftlab.metrics.analyze.analyze` and stored by ``save_trial_result`` exactly as
``liftlab process`` does, so the report sees the real JSON (rules with their numbers, stored
timing) and the real per-frame series. Whatever the analysis read, the PDF must say the same.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_reports_pdf import flat, pdf_text, sections

from liftlab.reports.pdf import build_report
from liftlab.reports.text import READING_LABELS
from liftlab.storage.db import open_database
from liftlab.storage.inputs import RunInfo, SessionInfo, TrialInfo
from liftlab.storage.models import Athlete, LabSession, Rep, Trial
from liftlab.storage.repository import save_trial_result

virtual = pytest.importorskip("liftlab.capture.virtual.motion")
body = pytest.importorskip("liftlab.capture.virtual.body")
analyze_mod = pytest.importorskip("liftlab.metrics.analyze")
alignment_mod = pytest.importorskip("liftlab.metrics.alignment")

ONE_RM_KG = 150.0
SETS = (  # name, pattern per rep, load, pain per rep
    ("set1_transient_140", ("transient",) * 3, 140.0, ()),
    ("set2_persistent_100", ("persistent",) * 3, 100.0, ()),
    ("set3_none_120", ("none",) * 3, 120.0, ()),
    ("set4_transient_pain_135", ("transient",) * 3, 135.0, (0.0, 4.0, 6.0)),
)


def _store_session(db, athlete_name: str, sets, *, calibrated: bool, seed: int) -> None:
    athlete = body.random_athlete(seed)
    info = SessionInfo(athlete=athlete_name, date=dt.date(2026, 11, 24), name="virtual")
    alignment = None
    if calibrated:
        curl = virtual.simulate_motion(athlete, virtual.knee_curl_spec(), seed=seed)
        alignment = alignment_mod.estimate_alignment(curl.trajectory())
        save_trial_result(db, session_info=info,
                          trial_info=TrialInfo(name="knee_curl", exercise="knee_curl"),
                          analysis_json={"trial": {"reps": 0, "reading": None, "reasons": [],
                                                   "alignment": alignment.to_json_dict()},
                                         "reps": []},
                          run_info=RunInfo(model="virtual"))
    for name, patterns, load_kg, pain in sets:
        spec = virtual.squat_spec(patterns, load_kg=load_kg, one_rm_kg=ONE_RM_KG, pain=pain)
        truth = virtual.simulate_motion(athlete, spec, seed=seed + 1)
        result = analyze_mod.analyze(truth.trajectory(), alignment=alignment, load_kg=load_kg,
                                     one_rm_kg=ONE_RM_KG, pain=pain)
        save_trial_result(db, session_info=info,
                          trial_info=TrialInfo(name=name, load_kg=load_kg, one_rm_kg=ONE_RM_KG,
                                               pain=pain),
                          analysis_json=result.to_json_dict(), series_df=result.series_frame(),
                          run_info=RunInfo(model="virtual", settings={"thresholds": "None"}))


@pytest.fixture(scope="module")
def virtual_lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("reports_e2e")
    db = open_database(f"sqlite:///{root / 'virtual.db'}")
    _store_session(db, "Calibrated Athlete", SETS, calibrated=True, seed=3)
    _store_session(db, "Build Athlete", SETS[2:3], calibrated=True, seed=5)
    _store_session(db, "Uncalibrated Athlete", SETS[:3], calibrated=False, seed=3)
    pdfs = {name: build_report(db, name, out=root / f"{name.split()[0]}.pdf")
            for name in ("Calibrated Athlete", "Build Athlete", "Uncalibrated Athlete")}
    yield {"db": db, "pdf": pdfs}
    db.dispose()


@pytest.mark.parametrize("athlete", ["Calibrated Athlete", "Build Athlete",
                                     "Uncalibrated Athlete"])
def test_pdf_reading_equals_stored_reading(virtual_lab: dict, athlete: str) -> None:
    parts = sections(pdf_text(virtual_lab["pdf"][athlete]))
    with virtual_lab["db"].read() as s:
        trials = list(s.scalars(sa.select(Trial).join(LabSession).join(Athlete).where(
            Athlete.name == athlete, Trial.exercise != "knee_curl")))
        assert sorted(t.name for t in trials) == sorted(parts)
        for trial in trials:
            heading = re.search(r"Reading: (.+)", parts[trial.name]).group(1)
            assert heading.startswith(READING_LABELS[trial.reading]), (trial.name, heading)
            reps = list(s.scalars(sa.select(Rep).where(Rep.trial_id == trial.id)))
            table = flat(parts[trial.name].split("Reading\n", 1)[1].split("Left-right")[0])
            for reading, label in READING_LABELS.items():
                assert table.count(label) == sum(r.reading == reading for r in reps)



def test_patterns_read_as_designed_and_explained(virtual_lab: dict) -> None:
    text = pdf_text(virtual_lab["pdf"]["Calibrated Athlete"])
    parts = {k: flat(v) for k, v in sections(text).items()}
    assert "Reading: Transient (controlled)" in parts["set1_transient_140"]
    assert "early ascent" in parts["set1_transient_140"]  # stored peak timing
    assert "Reading: Red flag: persistent" in parts["set2_persistent_100"]
    # the analysis's own rule sentence, with its number, is quoted
    assert re.search(r"\(rep \d: (left|right) knee medial \(>= 15 mm\) for \d+% of the rep",
                     parts["set2_persistent_100"])
    assert "Reading: No valgus" in parts["set3_none_120"]
    assert "Reading: Red flag: pain" in parts["set4_transient_pain_135"]
    summary = flat(text.split("\nLift ")[0])
    assert "Alignment source: calibration" in summary
    assert "knee-curl movement at the next session" not in summary


def test_build_versus_uncalibrated_wording(virtual_lab: dict) -> None:
    build = flat(pdf_text(virtual_lab["pdf"]["Build Athlete"]))
    assert "track inside the toes because of the athlete's build" in build
    uncalibrated = flat(pdf_text(virtual_lab["pdf"]["Uncalibrated Athlete"]))
    assert "Alignment source: assumed" in uncalibrated
    assert "record the 20-second knee-curl movement" in uncalibrated


def test_report_pages_render(virtual_lab: dict, tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf = virtual_lab["pdf"]["Calibrated Athlete"]
    result = subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "p")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr
