"""`liftlab demo`: the whole product on an embedded default, with accuracy against the truth.

1. The virtual lab renders a session: ChArUco calibration videos and a floor still, a 20-s
   knee-curl alignment trial and squat sets with known valgus patterns, from 4 cameras.
2. `calibrate` recovers the rig from the board videos (compared with the true cameras).
3. `process` runs 2D pose (MediaPipe), 3D, metrics and readings on Ray into SQLite.
4. `report` writes the coach PDF.
5. Accuracy against the ground truth is printed and saved as ``demo_summary.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

#: The demo's squat sets, one trial each (load and pain per pattern: virtual lab defaults).
DEMO_PATTERNS: tuple[str, ...] = ("none", "transient", "persistent")
#: Peak medial knee shift of the demo's valgus reps (mm): a clearly visible knee collapse.
#: Through MediaPipe on the virtual lab, shifts of ~20 mm are hidden by a depth-dependent
#: lateral bias of BlazePose's knee of about that size (see the README, "Accuracy").
DEMO_VALGUS_MM = 40.0
#: Calibration board frames per camera: 60 s at 30 fps, as the capture protocol asks.
CALIBRATION_FRAMES = 1800


def run_demo(out: Path, *, cameras: int = 4, fps: float = 30.0, reps: int = 3,
             ray_address: str | None = None, num_cpus: int | None = None, seed: int = 7,
             progress: bool = True, echo=click.echo) -> dict[str, Any]:
    """Run the demo into ``out`` and return the accuracy summary (also written as JSON)."""
    from liftlab.calibration.pipeline import calibrate_session
    from liftlab.capture.session import Session
    from liftlab.capture.virtual.evaluate import reading_agreement, rig_errors, trajectory_errors
    from liftlab.capture.virtual.scene import simulate_session
    from liftlab.capture.virtual.truth import load_truth
    from liftlab.core.cameras import Rig
    from liftlab.workers.cli import print_process_report
    from liftlab.workers.pipeline import process_session

    out.mkdir(parents=True, exist_ok=True)
    session_dir = out / "session"
    db_url = f"sqlite:///{(out / 'liftlab.db').resolve()}"
    summary: dict[str, Any] = {"out": str(out), "db": db_url}
    t0 = time.perf_counter()

    echo(f"[1/5] Virtual lab: rendering a session with {cameras} cameras into {session_dir}")
    simulate_session(session_dir, cameras=cameras, patterns=DEMO_PATTERNS, reps=reps, fps=fps,
                     seed=seed, valgus_peak_mm=DEMO_VALGUS_MM, calibration_frames=CALIBRATION_FRAMES,
                     force=True, knee_curl=True, progress=progress)
    summary["timings_s"] = {"simulate": time.perf_counter() - t0}

    echo("[2/5] Calibrating the rig from the rendered ChArUco videos")
    t = time.perf_counter()
    calib = calibrate_session(session_dir)
    summary["timings_s"]["calibrate"] = time.perf_counter() - t
    truth_rig = Rig.load(session_dir / "truth" / "rig.toml")
    cam_err = rig_errors(calib.rig, truth_rig)
    summary["calibration"] = {
        "verdict": calib.verdict.status,
        "cameras": [{"camera": e.camera, "position_mm": e.position_mm,
                     "rotation_deg": e.rotation_deg, "focal_pct": e.focal_pct,
                     "reproj_mean_px": q.reproj_mean_px} for e, q in zip(cam_err, calib.qualities,
                                                                 strict=True)]}
    echo(f"      verdict: {calib.verdict.status}")
    for c in summary["calibration"]["cameras"]:
        echo(f"      {c['camera']}: position {c['position_mm']:.1f} mm, rotation "
             f"{c['rotation_deg']:.2f} deg, focal {c['focal_pct']:.2f} %, reprojection "
             f"{c['reproj_mean_px']:.2f} px (vs truth)")

    echo("[3/5] Processing the session through Ray into SQLite (2D pose, 3D, metrics)")
    t = time.perf_counter()
    report = process_session(session_dir, db_url=db_url, ray_address=ray_address,
                             num_cpus=num_cpus, progress=progress)
    summary["timings_s"]["process"] = time.perf_counter() - t
    print_process_report(report)

    echo("[4/5] Accuracy against the ground truth")
    session = Session.open(session_dir)
    summary["trials"] = {}
    for name, outcome in report.outcomes.items():
        truth = load_truth(session_dir / "truth" / name)
        entry: dict[str, Any] = {"exercise": outcome.exercise}
        if outcome.trajectory is not None:
            entry["error_3d"] = trajectory_errors(outcome.trajectory, truth.landmarks_mm)
            errs = ", ".join(f"{g} {v['mean_mm']:.1f}" for g, v in entry["error_3d"].items())
            echo(f"      {name}: mean 3D error (mm) {errs}")
        if outcome.analysis is not None:
            entry["readings"] = reading_agreement(outcome.analysis["json"], truth.reps)
            r = entry["readings"]
            echo(f"      {name}: reps {r['reps_found']}/{r['reps_true']}, readings "
                 f"{r['readings']} vs expected {r['expected']} ({r['agree']}/{r['compared']})")
        summary["trials"][name] = entry
    if report.alignment is not None:
        curl = next(n for n in session.trial_names() if session.trial(n).exercise == "knee_curl")
        true_al = load_truth(session_dir / "truth" / curl).alignment_deg
        summary["alignment"] = {"source": report.alignment.source,
                                "left_deg": report.alignment.left_deg,
                                "right_deg": report.alignment.right_deg,
                                "true_left_deg": true_al["left"],
                                "true_right_deg": true_al["right"]}
        echo(f"      knee alignment: left {report.alignment.left_deg:.1f} deg (true "
             f"{true_al['left']:.1f}), right {report.alignment.right_deg:.1f} deg (true "
             f"{true_al['right']:.1f})")

    echo("[5/5] Writing the coach report")
    pdf = _write_report(db_url, session.config.athlete, out / "report.pdf")
    summary["report"] = str(pdf) if pdf else None
    summary["timings_s"]["total"] = time.perf_counter() - t0
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    echo(f"\nDone in {summary['timings_s']['total']:.0f} s. Database: {db_url}")
    if pdf:
        echo(f"Coach report: {pdf}")
    echo(f"Accuracy summary: {out / 'demo_summary.json'}")
    return summary


def _write_report(db_url: str, athlete: str, path: Path) -> Path | None:
    from liftlab.reports.pdf import build_report

    return build_report(db_url, athlete, out=path)


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("liftlab-demo"), show_default=True, help="Output folder.")
@click.option("--cameras", type=click.IntRange(2, 8), default=4, show_default=True)
@click.option("--fps", type=click.FloatRange(10, 120), default=30.0, show_default=True)
@click.option("--reps", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Reps per squat set.")
@click.option("--ray-address", envvar="RAY_ADDRESS", default=None,
              help="Existing Ray cluster; default a local Ray.")
@click.option("--num-cpus", type=click.IntRange(1), default=None)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(out: Path, cameras: int, fps: float, reps: int, ray_address: str | None,
         num_cpus: int | None, seed: int, quiet: bool) -> None:
    """Run the whole pipeline on a virtual-lab session and print accuracy vs the truth."""
    run_demo(out, cameras=cameras, fps=fps, reps=reps, ray_address=ray_address,
             num_cpus=num_cpus, seed=seed, progress=not quiet)


COMMANDS = [demo]
