"""Live preview while recording: a tiled mosaic of the latest frame of every camera in one
``cv2.imshow`` window, only when a usable display exists (headless recording logs a
progress line instead)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

WINDOW_TITLE = "liftlab capture (q to stop)"


def tile_frames(frames: list[np.ndarray | None], labels: list[str], *,
                tile_width_px: int = 480) -> np.ndarray:
    """Mosaic of the latest frame of every camera (black tile when none yet), for preview."""
    import cv2

    n = max(len(frames), 1)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    shapes = [f.shape for f in frames if f is not None]
    aspect = shapes[0][0] / shapes[0][1] if shapes else 0.75
    tw, th = tile_width_px, max(int(tile_width_px * aspect), 1)
    canvas = np.zeros((rows * th, cols * tw, 3), dtype=np.uint8)
    for i, (frame, label) in enumerate(zip(frames, labels, strict=False)):
        r, c = divmod(i, cols)
        if frame is not None:
            tile = cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA)
            canvas[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = (
                tile if tile.ndim == 3 else cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR))
        cv2.putText(canvas, label, (c * tw + 8, r * th + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (0, 255, 255), 2)
    return canvas


def display_available() -> bool:
    """A display the preview can open (Qt aborts the process on a dead local X display, so
    ``:N`` is checked against its socket first)."""
    if os.environ.get("WAYLAND_DISPLAY"):
        return True
    display = os.environ.get("DISPLAY", "")
    if display.startswith(":"):
        number = display[1:].split(".")[0]
        return Path(f"/tmp/.X11-unix/X{number}").exists()
    return bool(display)


class Preview:
    """The preview window of one recording; does nothing when not requested or when no
    display is available (warned once), and turns itself off if the display refuses."""

    def __init__(self, requested: bool):
        self.on = requested and display_available()
        if requested and not self.on:
            log.warning("no display (DISPLAY unset): recording without preview")

    def show(self, frames: list[np.ndarray | None], labels: list[str]) -> bool:
        """Show the mosaic of ``frames``; True when the user pressed ``q`` to stop."""
        if not self.on:
            return False
        import cv2

        try:
            cv2.imshow(WINDOW_TITLE, tile_frames(frames, labels))
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as exc:  # display refused: keep recording without preview
            log.warning("preview disabled: %s", exc)
            self.on, key = False, -1
        return key == ord("q")

    def close(self) -> None:
        if self.on:
            import cv2

            cv2.destroyAllWindows()
