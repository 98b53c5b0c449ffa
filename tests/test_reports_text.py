"""Report wording, derived numbers and the still frame, without building a PDF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_reports_synth import FPS, PHASES_S, SynthTrial, make_analysis, make_series, write_media

from liftlab.reports.data import Provenance, RepData, SessionData, TrialData, VideoData
from liftlab.reports.figures import summary_figure, trial_figure
from liftlab.reports.still import peak_moment, peak_still
from liftlab.reports.summary import alignment_facts, rep_timing, with_numbers
from liftlab.reports.text import (
    KNEE_CURL_REQUEST,
    Reason,
    alignment_sentences,
    asymmetry_sentence,
    parse_reasons,
    reading_sentence,
    threshold_phrases,
)


def trial_from(spec: SynthTrial, *, videos: tuple[VideoData, ...] = ()) -> TrialData:
    series, times = make_series(spec)
    analysis = make_analysis(spec, series, times)
    reps = tuple(RepData(index=r["index"], start_s=r["start_s"], bottom_s=r["bottom_s"],
                         end_s=r["end_s"], reading=r["reading"],
                         reasons=parse_reasons(r["reasons"]), pain=None,
                         left=dict(r["left"]), right=dict(r["right"]))
                 for r in analysis["reps"])
    return TrialData(id=1, name=spec.name, exercise=spec.exercise, load_kg=spec.load_kg,
                     one_rm_kg=spec.one_rm_kg,
                     percent_1rm=(100 * spec.load_kg / spec.one_rm_kg
                                  if spec.load_kg and spec.one_rm_kg else None),
                     pain=spec.pain, alignment_source=spec.alignment_source,
                     alignment_left_deg=12.0, alignment_right_deg=9.0,
                     reading=analysis["trial"]["reading"], reasons=parse_reasons(spec.reasons),
                     reps=reps, series=series, videos=videos, provenance=Provenance())


@pytest.mark.parametrize("raw, expected", [
    (None, ()),
    ("persistent", (Reason("persistent", ""),)),
    (["pain: 5/10 on rep 2", "light_load"], (Reason("pain", "5/10 on rep 2"),
                                               Reason("light_load", ""))),
    ([{"rule": "uncontrolled", "peak_velocity_mm_s": 812.4}],
     (Reason("uncontrolled", "peak velocity mm s 812"),)),
    ([{"reason": "persistent", "detail": "80% of the rep"}],
     (Reason("persistent", "80% of the rep"),)),
])
def test_parse_reasons(raw, expected) -> None:
    assert parse_reasons(raw) == expected


def test_rep_timing_transient_peaks_early_in_ascent_and_returns() -> None:
    trial = trial_from(SynthTrial("t", "transient", 20.0, 10.0, n_reps=2))
    for rep in trial.reps:
        timing = rep_timing(trial.series, rep, baseline_return_mm=8.0)
        assert timing.peak_phase == "ascent"
        # the generated bump is centred at u = 0.25 of the ascent (np.linspace over its frames)
        assert timing.peak_pct_ascent == pytest.approx(25.0, abs=100 / (PHASES_S[3][1] * FPS))
        assert timing.returned is True
        assert timing.timing_text.startswith("early ascent")


def test_rep_timing_without_series_is_unknown() -> None:
    trial = trial_from(SynthTrial("t", "transient", 20.0, 10.0, n_reps=1))
    timing = rep_timing(None, trial.reps[0], baseline_return_mm=8.0)
    assert (timing.timing_text, timing.returned_text) == ("-", "-")


def test_reason_numbers_from_the_trial() -> None:
    spec = SynthTrial("t", "persistent", 30.0, 10.0, n_reps=2, load_kg=70, one_rm_kg=140,
                      reading="red_flag", reasons=("persistent", "light_load"))
    trial = trial_from(spec)
    persistent, light = with_numbers(trial, trial.reasons, threshold_mm=15.0)
    # plateau of 30 mm with linear ramps over the first/last third of descent and ascent:
    # above 15 mm except the first sixth of the descent and the last sixth of the ascent
    n = {name: round(length * FPS) for name, length in PHASES_S}
    above = n["descent"] + n["bottom"] + n["ascent"] - 2 * round(n["descent"] / 6)
    pct = 100 * above / (n["descent"] + n["bottom"] + n["ascent"])
    assert persistent.detail == f"above 15 mm for {pct:.0f}% of the rep"
    assert light.detail == "50% of 1RM"
    assert Reason("pain", "stored words").detail == "stored words"


@pytest.mark.parametrize("reading, words", [
    ("none", "No valgus"), ("transient", "Transient (controlled)"),
    ("red_flag", "Red flag"), (None, "Not read")])
def test_reading_sentence_names_reading(reading, words) -> None:
    sentence = reading_sentence(reading, (Reason("pain", "6/10"),), threshold_mm=15,
                                peak_left_mm=21.4, peak_right_mm=None, n_reps=3,
                                n_valgus_reps=2)
    assert sentence.startswith(words) or reading is None
    if reading == "red_flag":
        assert "(6/10)" in sentence and "21 mm left, - right" in sentence


@pytest.mark.parametrize("source, build_inside, caves_in, expect, ask", [
    ("calibration", True, False, "because of the athlete's build", False),
    ("calibration", True, True, "cave in during the rep", False),
    ("assumed", True, False, "cannot tell whether", True),
    ("estimated", False, True, "moved inward from the estimated line by up to 24 mm", True),
    ("assumed", True, True, "readings may overstate it", True),
    (None, False, False, "stayed over the feet", True),
])
def test_alignment_sentences(source, build_inside, caves_in, expect, ask) -> None:
    text = " ".join(alignment_sentences(source, 10, 12, build_inside=build_inside,
                                        caves_in=caves_in, max_shift_mm=24))
    assert expect in text
    assert (KNEE_CURL_REQUEST in text) is ask
    assert f"Alignment source: {source or 'not recorded'}" in text


def test_alignment_facts_from_session() -> None:
    build = trial_from(SynthTrial("a", "none", 5.0, 4.0, build_offset_mm=25.0))
    session = SessionData(id=1, date=None, name="s", folder_path=None, notes=None,  # type: ignore[arg-type]
                          pain_outside_lifting=(), trials=(build,))
    facts = alignment_facts(session, threshold_mm=15.0)
    assert facts.build_inside and not facts.caves_in and facts.source == "calibration"
    assert facts.max_shift_mm == pytest.approx(5.0, abs=0.2)


@pytest.mark.parametrize("left, right, expect", [
    (20.0, 19.0, "similar"), (30.0, 14.0, "left knee moves in more, by 16 mm"),
    (5.0, 12.0, "right knee moves in more, by 7 mm"), (None, 3.0, "not available")])
def test_asymmetry_sentence(left, right, expect) -> None:
    assert expect in asymmetry_sentence(left, right, threshold_mm=15.0)


def test_threshold_phrases_units() -> None:
    phrases = threshold_phrases({"shift_present_mm": 15.0, "persistent_rep_fraction": 0.6,
                                 "light_load_percent_1rm": 60.0, "pain_above": 2.0,
                                 "abduction_min_reliability": 0.5, "new_thing_deg": 3.0})
    assert phrases == ["inward shift counted from 15 mm",
                       "persistent when above the threshold for at least 60% of the rep",
                       "light load below 60% of 1RM", "pain above 2/10",
                       "new thing deg 3 degrees"]


def test_still_frame_draws_at_peak_and_says_why_when_missing(tmp_path: Path) -> None:
    spec = SynthTrial("sq", "transient", 20.0, 10.0, n_reps=2)
    series, _ = make_series(spec)
    video = write_media(tmp_path, "sq", series)
    keypoints = tmp_path / "derived" / "sq" / "keypoints_cam1.npz"
    trial = trial_from(spec, videos=(VideoData("cam1", video, FPS, keypoints),))
    moment = peak_moment(trial)
    assert moment.side == "left" and moment.shift_mm == pytest.approx(20.0, abs=0.5)
    assert series["phase"].iloc[round(moment.time_s * FPS)] == "ascent"
    still = peak_still(trial)
    assert still.jpeg is not None and still.jpeg[:2] == b"\xff\xd8"
    assert f"at {moment.time_s:.2f} s (rep 1)" in still.caption

    keypoints.unlink()
    assert "2D keypoints of camera cam1 are missing" in peak_still(trial).caption
    video.unlink()
    assert "video of camera cam1 is missing" in peak_still(trial).caption
    no_reps = trial_from(SynthTrial("z", n_reps=0))
    assert peak_still(no_reps).caption == "No still frame: no repetitions were found in this trial."


def test_figures_are_png_of_requested_size() -> None:
    trial = trial_from(SynthTrial("t", "transient", 20.0, 10.0, n_reps=2, reading="transient"))
    import io

    from PIL import Image

    for png, (w_cm, h_cm) in ((trial_figure(trial.series, trial.reps, threshold_mm=15.0,
                                            width_cm=17, height_cm=8), (17, 8)),
                              (summary_figure([trial], threshold_mm=15.0, width_cm=17),
                               (17, 1.6 + 0.9))):
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == pytest.approx((w_cm / 2.54 * 150, h_cm / 2.54 * 150), abs=2)
        assert np.asarray(image).std() > 0  # something was drawn
