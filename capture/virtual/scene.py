"""Write a complete virtual-lab session folder (DESIGN section 3) with its ground truth.

:func:`simulate_session` simulates the athlete's trials (task A's body model), renders the
calibration board videos, the floor stills and every trial from a virtual rig, and writes
``session.toml``, ``trial.toml`` files and ``truth/`` (true rig, motion truth per trial).
The folder is exactly what a technician's capture gives, so ``liftlab calibrate`` and
``liftlab process`` run on it unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from liftlab.capture.session import (
    SessionConfig,
    TrialConfig,
    create_session,
    write_trial_config,
)
from liftlab.capture.virtual.board import VIRTUAL_BOARD, write_board_videos
from liftlab.capture.virtual.body import Athlete, random_athlete, with_alignment
from liftlab.capture.virtual.cameras import make_rig
from liftlab.capture.virtual.motion import (
    MotionTruth,
    RepSpec,
    TrialSpec,
    knee_curl_spec,
    simulate_motion,
)
from liftlab.capture.virtual.patterns import PATTERNS
from liftlab.capture.virtual.render import write_videos
from liftlab.capture.virtual.truth import save_truth
from liftlab.core.errors import InputError, check_all

#: Camera height of the virtual lab. Measured: at 1.2 m a board lying on the floor is too
#: foreshortened for 640 x 480 cameras 3.5 m away; at 2.3 m every camera finds 20-24 of its
#: 24 corners in the floor still (board: :data:`VIRTUAL_BOARD`).
CAMERA_HEIGHT_MM = 2300.0
#: Height the cameras aim at, above the athlete's position.
AIM_HEIGHT_MM = 950.0
#: One-repetition maximum of the virtual athlete, and per pattern the load (% 1RM) and the
#: pain per rep: transient valgus is most common near maximal loads; a persistent one at a
#: light load is a red flag by itself; pain is reported on one uncontrolled rep.
ONE_RM_KG = 120.0
PATTERN_CONTEXT: dict[str, tuple[float, float]] = {
    "none": (70.0, 0.0), "transient": (90.0, 0.0), "persistent": (55.0, 0.0),
    "uncontrolled": (80.0, 3.0), "heel_lift": (75.0, 0.0),
}

TRUTH_README = """# Ground truth of this virtual-lab session

Written by `liftlab simulate` (liftlab.capture.virtual). Nothing here is read by
`liftlab calibrate` or `liftlab process`; it is what their results are checked against.

- `rig.toml`: the true cameras (aniposelib TOML, lab frame Z up, mm; `world_to_camera`
  x_cam = R x_lab + t), in session order. Load with `liftlab.core.Rig.load`.
- `<trial>/landmarks.npz`: the exact 33 MediaPipe landmarks per frame (Trajectory3D, mm,
  lab frame). Frame i is frame i of every `trials/<trial>/<camera>.mp4`.
- `<trial>/series.csv`: per-frame truth (joint angles, medial knee shift, knee-over-foot,
  heel lift, phase, rep).
- `<trial>/reps.json`: per rep the phase frames, pattern and the expected reading + reasons.
- `<trial>/athlete.json`: athlete, trial spec, alignment (deg) and seed (re-simulates).

Lab frame: the floor board's (calibration/floor/<camera>.png): origin at its printed top-left
corner, lab = (x_board, -y_board, -z_board), Z up, mm.
"""


def _trial_specs(patterns: Sequence[str], *, reps: int, fps: float, knee_curl: bool,
                 curls_per_side: int, stand_s: float,
                 valgus_peak_mm: float) -> list[tuple[str, TrialSpec]]:
    out: list[tuple[str, TrialSpec]] = []
    if knee_curl:
        spec = knee_curl_spec(fps=fps, curls_per_side=curls_per_side)
        out.append(("knee_curl", dataclasses.replace(spec, stand_before_s=stand_s,
                                                     stand_after_s=stand_s)))
    for i, pattern in enumerate(patterns, start=1):
        percent, pain = PATTERN_CONTEXT[pattern]
        pain_per_rep = [0.0] * reps
        if pain:
            pain_per_rep[-1] = pain
        spec = TrialSpec(exercise="squat", reps=tuple(
            RepSpec(pattern=pattern, valgus_peak_mm=valgus_peak_mm)  # type: ignore[arg-type]
            for _ in range(reps)),
                         fps=fps, stand_before_s=stand_s, stand_after_s=stand_s,
                         load_kg=round(ONE_RM_KG * percent / 100.0, 1), one_rm_kg=ONE_RM_KG,
                         pain=tuple(pain_per_rep))
        out.append((f"squat{i}_{pattern}", spec))
    return out


def _check_inputs(out: Path, *, cameras: int, patterns: Sequence[str], fps: float, reps: int,
                  size: tuple[int, int], force: bool) -> None:
    problems = []
    if int(cameras) != cameras or cameras < 1:
        problems.append(f"expected at least 1 camera, but got {cameras}")
    unknown = [p for p in patterns if p not in PATTERNS]
    if unknown:
        problems.append(f"unknown pattern(s) {unknown}; choose from {', '.join(PATTERNS)}")
    if not 5 <= fps <= 240:
        problems.append(f"fps must lie in 5-240, got {fps}")
    if int(reps) != reps or not 1 <= reps <= 20:
        problems.append(f"reps must be 1-20, got {reps}")
    if len(size) != 2 or min(size) < 64:
        problems.append(f"size must be (width, height) of at least 64 px, got {size}")
    check_all(problems, where="simulate_session",
              fix="e.g. `liftlab simulate OUT --cameras 4 --pattern transient`")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder", fix="choose another OUT_DIR")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"Output folder {out} exists and is not empty",
                         fix="choose a new folder or pass force=True (--force) to overwrite it")


def simulate_session(out_dir: str | Path, *, cameras: int = 4,
                     patterns: Sequence[str] = ("none", "transient", "persistent"),
                     athlete: Athlete | None = None, fps: float = 30.0, seed: int = 0,
                     size: tuple[int, int] = (640, 480), reps: int = 3,
                     valgus_peak_mm: float = 20.0,
                     alignment_deg: tuple[float, float] | None = None, force: bool = False,
                     knee_curl: bool = True, curls_per_side: int = 4, stand_s: float = 1.0,
                     calibration_frames: int = 120, progress: bool = True) -> Path:
    """Simulate, render and write a whole virtual-lab session folder.

    Parameters
    ----------
    out_dir
        Session folder to create (must be new or empty unless ``force``).
    cameras
        Number of virtual cameras (cam1..camN).
    patterns
        One squat trial per entry, in order: ``none``, ``transient``, ``persistent``,
        ``uncontrolled`` or ``heel_lift`` (see :mod:`.patterns`); load and pain per trial from
        :data:`PATTERN_CONTEXT`.
    athlete
        The athlete; default a random one (``seed``) standing near the floor board's centre.
    fps
        Frame rate of every video.
    seed
        Seed of the athlete, the rig's imperfections, the motion and the board motion.
    size
        Image (width, height) of every camera.
    reps
        Repetitions per squat trial.
    valgus_peak_mm
        Peak medial knee shift of the valgus patterns (mm from the hinge plane).
    alignment_deg
        (left, right) foot alignment in degrees; default the athlete's.
    force
        Overwrite what a previous run wrote into ``out_dir``.
    knee_curl
        Start with a ``knee_curl`` alignment-calibration trial.
    curls_per_side, stand_s
        Knee curls per leg; standing time before and after each trial (s).
    calibration_frames
        Frames of each hand-held board video.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    Path
        The session folder.
    """
    out = Path(out_dir)
    patterns = list(patterns)
    _check_inputs(out, cameras=cameras, patterns=patterns, fps=fps, reps=reps,
                  size=tuple(size), force=force)
    board = VIRTUAL_BOARD
    centre = (board.squares_x * board.square_mm / 2, -board.squares_y * board.square_mm / 2)
    if athlete is None:
        athlete = random_athlete(seed, position_range_mm=150.0)
        athlete = dataclasses.replace(athlete, position_mm=(centre[0] + athlete.position_mm[0],
                                                            centre[1] + athlete.position_mm[1]))
    if alignment_deg is not None:
        athlete = with_alignment(athlete, *alignment_deg)
    target = (athlete.position_mm[0], athlete.position_mm[1], AIM_HEIGHT_MM)
    rig = make_rig(cameras, height_mm=CAMERA_HEIGHT_MM, size=tuple(size), target_mm=target,
                   facing_deg=athlete.heading_deg, seed=seed)
    trials: list[tuple[str, TrialSpec, MotionTruth]] = []
    for k, (name, spec) in enumerate(_trial_specs(patterns, reps=reps, fps=fps,
                                                  knee_curl=knee_curl,
                                                  curls_per_side=curls_per_side,
                                                  stand_s=stand_s,
                                                  valgus_peak_mm=valgus_peak_mm)):
        trials.append((name, spec, simulate_motion(athlete, spec, seed=seed + k)))

    if force and out.is_dir():
        for entry in ("session.toml", "calibration", "trials", "truth"):
            target_path = out / entry
            if target_path.is_dir():
                shutil.rmtree(target_path)
            elif target_path.exists():
                target_path.unlink()
    config = SessionConfig(athlete=f"Virtual athlete {seed}", date=dt.date.today().isoformat(),
                           cameras=tuple(rig.names), fps=float(fps), board=board,
                           extra={"source": "liftlab virtual lab", "seed": int(seed)})
    session = create_session(out, config)
    total = len(rig) * (calibration_frames + sum(t.n_frames for _, _, t in trials))
    with tqdm(total=total, disable=not progress, unit="frame", desc="virtual lab") as bar:
        write_board_videos(board, rig, session.calibration_dir, fps=fps,
                           n_frames=calibration_frames, seed=seed,
                           target_mm=(target[0], target[1], 1000.0), progress=bar.update)
        truth_dir = out / "truth"
        rig.save(truth_dir / "rig.toml")
        for name, spec, truth in trials:
            trial_dir = session.trials_dir / name
            write_trial_config(trial_dir, TrialConfig(
                name=name, exercise=spec.exercise, load_kg=spec.load_kg,
                one_rm_kg=spec.one_rm_kg, pain=spec.pain,
                notes="virtual lab" + ("" if spec.exercise == "knee_curl"
                                       else f", pattern {spec.reps[0].pattern}")))
            write_videos(truth.landmarks_mm, rig, trial_dir, fps=fps,
                         bar=spec.exercise in ("squat", "front_squat"), progress=bar.update)
            save_truth(truth, truth_dir / name)
        (truth_dir / "README.md").write_text(TRUTH_README)
    return out
