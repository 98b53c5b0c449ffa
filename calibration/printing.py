"""A printable ChArUco board PDF at true scale, with its spec on the page (reportlab).

The board is OpenCV's own image of it (``CharucoBoard.generateImage``, 10 px per mm, so
what is printed is exactly what the detector expects), placed at its physical size, with a
100 mm scale bar to check the printer did not scale the page.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import cv2

from liftlab.calibration.boards import Board
from liftlab.capture.session import BoardSpec
from liftlab.core.errors import InputError

PageSize = Literal["a4", "letter"]
PAGES_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN_MM = 10.0
TEXT_BAND_MM = 28.0
QUIET_ZONE_MM = 5.0


def _fits(board_mm: tuple[float, float], page_mm: tuple[float, float]) -> bool:
    need_w = board_mm[0] + 2 * QUIET_ZONE_MM
    need_h = board_mm[1] + 2 * QUIET_ZONE_MM + TEXT_BAND_MM
    return need_w <= page_mm[0] - 2 * MARGIN_MM and need_h <= page_mm[1] - 2 * MARGIN_MM


def write_board_pdf(spec: BoardSpec, out: str | Path, *, page: PageSize = "a4",
                    px_per_mm: float = 10.0) -> Path:
    """Write the board of ``spec`` to ``out`` (PDF) at true scale.

    Raises
    ------
    InputError
        The board is not ChArUco, or does not fit the page in either orientation.
    """
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    if spec.type != "charuco":
        raise InputError("Only ChArUco boards are printed", where="liftlab board",
                         fix="print a checkerboard from any generator, or use a ChArUco board")
    if page not in PAGES_MM:
        raise InputError(f"Unknown page size {page!r}", fix="use --page a4 or --page letter")
    board = Board(spec)
    w_mm, h_mm = board.size_mm
    portrait = PAGES_MM[page]
    landscape = (portrait[1], portrait[0])
    if _fits((w_mm, h_mm), portrait):
        page_mm = portrait
    elif _fits((w_mm, h_mm), landscape):
        page_mm = landscape
    else:
        def usable(p: tuple[float, float]) -> str:
            return (f"{p[0] - 2 * MARGIN_MM - 2 * QUIET_ZONE_MM:.0f} x "
                    f"{p[1] - 2 * MARGIN_MM - 2 * QUIET_ZONE_MM - TEXT_BAND_MM:.0f} mm")

        raise InputError(
            f"The board is {w_mm:.0f} x {h_mm:.0f} mm but a {page.upper()} page holds at most "
            f"{usable(portrait)} (portrait) or {usable(landscape)} (landscape) with margins "
            "and the spec text",
            where="liftlab board",
            fix="use a smaller --square-mm (and --marker-mm), fewer squares, --page letter, "
                "or have the board printed large by a print shop from a bigger page")
    img = board.render(px_per_mm=px_per_mm)
    ok, png = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover - OpenCV always encodes a grey image
        raise InputError("Could not encode the board image", fix="retry")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    c = canvas.Canvas(str(tmp), pagesize=(page_mm[0] * mm, page_mm[1] * mm))
    x0 = (page_mm[0] - w_mm) / 2
    y0 = MARGIN_MM + TEXT_BAND_MM + QUIET_ZONE_MM + (
        page_mm[1] - 2 * MARGIN_MM - TEXT_BAND_MM - 2 * QUIET_ZONE_MM - h_mm) / 2
    c.drawImage(ImageReader(io.BytesIO(png.tobytes())), x0 * mm, y0 * mm, width=w_mm * mm,
                height=h_mm * mm)
    c.setFont("Helvetica", 9)
    lines = [
        f"liftlab ChArUco board: squares_x = {spec.squares_x}, squares_y = {spec.squares_y}, "
        f"square_mm = {spec.square_mm:g}, marker_mm = {spec.marker_mm:g}, "
        f"dictionary = {spec.dictionary}",
        f"Board {w_mm:g} x {h_mm:g} mm. Print at 100% (no 'fit to page'); measure the bar and "
        "a square, and write the measured sizes into [board] of session.toml.",
        "Mount flat and rigid. Origin of the lab frame: this board's top-left corner when it "
        "lies face up on the floor.",
    ]
    for i, line in enumerate(lines):
        c.drawString(MARGIN_MM * mm, (MARGIN_MM + TEXT_BAND_MM - 6 - 4.5 * i) * mm, line)
    bar_y = MARGIN_MM + 3
    c.setLineWidth(0.6)
    c.line(MARGIN_MM * mm, bar_y * mm, (MARGIN_MM + 100) * mm, bar_y * mm)
    for tick in range(0, 101, 10):
        h = 2.5 if tick % 50 == 0 else 1.2
        c.line((MARGIN_MM + tick) * mm, bar_y * mm, (MARGIN_MM + tick) * mm, (bar_y + h) * mm)
    c.drawString((MARGIN_MM + 103) * mm, (bar_y - 1) * mm, "100 mm")
    c.setTitle(f"liftlab ChArUco {spec.squares_x}x{spec.squares_y} {spec.square_mm:g} mm")
    c.showPage()
    c.save()
    tmp.replace(out)
    return out
