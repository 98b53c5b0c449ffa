"""``liftlab simulate``: write a virtual-lab session folder (videos + ground truth)."""

from __future__ import annotations

import click

from liftlab.core.errors import InputError

PATTERN_CHOICES = ("none", "transient", "persistent", "uncontrolled", "heel_lift")


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise InputError(f"Expected --size WxH such as 640x480, but got {text!r}",
                         fix="write the width and height in pixels, e.g. --size 1280x720") from exc
    return width, height


@click.command("simulate")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--pattern", "patterns", multiple=True, type=click.Choice(PATTERN_CHOICES),
              help="Valgus pattern of one squat trial (repeatable; default: none, transient, "
                   "persistent).")
@click.option("--cameras", default=4, show_default=True, type=int, help="Number of cameras.")
@click.option("--fps", default=30.0, show_default=True, type=float, help="Frames per second.")
@click.option("--reps", default=3, show_default=True, type=int, help="Repetitions per trial.")
@click.option("--valgus-mm", default=20.0, show_default=True, type=click.FloatRange(0, 100),
              help="Peak medial knee shift of the valgus patterns (mm).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--size", default="640x480", show_default=True, help="Image size WxH (px).")
@click.option("--alignment-left", type=float, default=None,
              help="Left foot alignment (deg, outward positive); needs --alignment-right.")
@click.option("--alignment-right", type=float, default=None,
              help="Right foot alignment (deg, outward positive); needs --alignment-left.")
@click.option("--no-knee-curl", is_flag=True, help="Skip the knee-curl alignment trial.")
@click.option("--force", is_flag=True, help="Overwrite a non-empty OUT_DIR.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate(out_dir: str, patterns: tuple[str, ...], cameras: int, fps: float, reps: int,
             valgus_mm: float, seed: int, size: str, alignment_left: float | None, alignment_right: float | None,
             no_knee_curl: bool, force: bool, quiet: bool) -> None:
    """Render a virtual-lab session into OUT_DIR: calibration board videos and floor stills,
    a knee-curl trial and one squat trial per --pattern, with the ground truth in truth/."""
    from liftlab.capture.virtual.scene import simulate_session

    if (alignment_left is None) != (alignment_right is None):
        raise InputError("--alignment-left and --alignment-right go together",
                         fix="give both, e.g. --alignment-left 10 --alignment-right 15")
    alignment = None if alignment_left is None else (alignment_left, alignment_right)
    root = simulate_session(out_dir, cameras=cameras,
                            patterns=list(patterns) or ["none", "transient", "persistent"],
                            fps=fps, seed=seed, size=_parse_size(size), reps=reps,
                            valgus_peak_mm=valgus_mm,
                            alignment_deg=alignment, force=force, knee_curl=not no_knee_curl,
                            progress=not quiet)
    trials = sorted(p.name for p in (root / "trials").iterdir())
    click.echo(f"virtual session written to {root}: {cameras} cameras, trials {', '.join(trials)}; "
               f"ground truth in {root / 'truth'}")


COMMANDS = [simulate]
