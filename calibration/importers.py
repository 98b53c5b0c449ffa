"""Import an existing calibration: aniposelib ``.toml`` or Qualisys ``.qca.txt``.

Qualisys conventions (checked against Pose2Sim's ``calib_qca_fun`` / ``read_qca`` and the
pose2sim demo's photos and videos):

- ``transform``: ``x, y, z`` is the camera centre in the lab (mm; Qualisys labs are Z up);
  ``r11..r33`` read row by row form ``M`` whose rows are the camera axes in the lab, with the
  Qualisys camera looking along its -z, y up.  OpenCV's ``world_to_camera`` is therefore
  ``R = diag(1, -1, -1) @ M`` and ``t = -R @ centre``.
- ``intrinsic``: focal lengths and centre point are in 1/64 pixel (divide by 64; subtract the
  ``fov_video`` left/top offset).  Distortion (k1, k2, k3, p1, p2) is taken as OpenCV's in
  normalised coordinates, *not* divided by 64 as Pose2Sim does: with the raw values the demo's
  checkerboard photos re-project better (see tests/test_calibration_realdata.py).
- Image size: ``fov_video`` (right - left + 1, bottom - top + 1), i.e. the sensor window.
  A video recorded at another resolution (the demo's cam01/cam02: 1080 x 1920 against a
  1088 x 1920 window) shows the same centre uniformly scaled (measured with SIFT matches
  between the videos and the full-window stills: scale 1.0075 in x and y, centred);
  :func:`resize_camera` maps the intrinsics onto the video's size that way.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

from liftlab.core.cameras import Camera, Rig
from liftlab.core.errors import InputError

log = logging.getLogger(__name__)

QUALISYS_SUBPIXELS = 64.0
_FLIP_YZ = np.diag([1.0, -1.0, -1.0])


def resize_camera(camera: Camera, size: tuple[int, int]) -> Camera:
    """The camera seen at another image ``size``: uniform scale about the image centre.

    The scale is the width ratio (the demo's portrait videos keep the height and lose 8
    columns, and both axes scale alike); the centre of the old image maps to the centre of
    the new one.
    """
    (w0, h0), (w1, h1) = camera.size, (int(size[0]), int(size[1]))
    if (w0, h0) == (w1, h1):
        return camera
    s = w1 / w0
    k = camera.matrix.copy()
    k[0, 0] *= s
    k[1, 1] *= s
    k[0, 2] = (k[0, 2] - w0 / 2) * s + w1 / 2
    k[1, 2] = (k[1, 2] - h0 / 2) * s + h1 / 2
    return Camera(camera.name, (w1, h1), k, camera.distortions, camera.rotation,
                  camera.translation_mm)


def read_qca(path: str | Path) -> Rig:
    """The cameras of a Qualisys ``.qca.txt`` (active cameras, file order, ``serial`` names)."""
    path = Path(path)
    fix = "export the calibration from QTM as .qca.txt (XML), or give an aniposelib .toml"
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"Cannot read the Qualisys calibration: {exc}", where=str(path),
                         fix=fix) from exc
    cams = []
    for i, tag in enumerate(root.findall("cameras/camera")):
        if tag.get("active", "1") != "1":
            continue
        name = tag.get("serial") or f"cam{i + 1}"
        fov, intr, tr = tag.find("fov_video"), tag.find("intrinsic"), tag.find("transform")
        if fov is None or intr is None or tr is None:
            raise InputError(f"Camera {name!r} lacks fov_video, intrinsic or transform",
                             where=str(path), fix=fix)
        try:
            left, top = float(fov.get("left")), float(fov.get("top"))
            size = (int(float(fov.get("right")) - left + 1), int(float(fov.get("bottom")) - top + 1))
            f = {k: float(intr.get(k, "0")) for k in (
                "focalLengthU", "focalLengthV", "centerPointU", "centerPointV",
                "radialDistortion1", "radialDistortion2", "radialDistortion3",
                "tangentalDistortion1", "tangentalDistortion2")}
            if f["focalLengthV"] == 0:
                f["focalLengthV"] = f["focalLengthU"] / float(intr.get("pixelAspectRatio", "1"))
            m = np.array([[float(tr.get(f"r{r}{c}")) for c in (1, 2, 3)] for r in (1, 2, 3)])
            centre = np.array([float(tr.get(a)) for a in ("x", "y", "z")])
        except (TypeError, ValueError) as exc:
            raise InputError(f"Camera {name!r}: malformed number ({exc})", where=str(path),
                             fix=fix) from exc
        k = np.array([[f["focalLengthU"] / QUALISYS_SUBPIXELS, 0,
                       f["centerPointU"] / QUALISYS_SUBPIXELS - left],
                      [0, f["focalLengthV"] / QUALISYS_SUBPIXELS,
                       f["centerPointV"] / QUALISYS_SUBPIXELS - top], [0, 0, 1]])
        dist = np.array([f["radialDistortion1"], f["radialDistortion2"], f["tangentalDistortion1"],
                         f["tangentalDistortion2"], f["radialDistortion3"]])
        r = _FLIP_YZ @ m
        cams.append(Camera(name, size, k, dist, cv2.Rodrigues(r)[0].ravel(), -r @ centre))
    if not cams:
        raise InputError("The Qualisys calibration holds no active camera", where=str(path), fix=fix)
    return Rig(tuple(cams), {"imported_from": str(path), "format": "qualisys_qca",
                             "avg_residual": [float(t.get("avg-residual", "nan"))
                                              for t in root.findall("cameras/camera")
                                              if t.get("active", "1") == "1"]})


def import_calibration(path: str | Path, *, camera_names: list[str] | None = None,
                       image_sizes: dict[str, tuple[int, int]] | None = None) -> Rig:
    """A rig from an aniposelib ``.toml`` or a Qualisys ``.qca.txt``.

    Parameters
    ----------
    path
        The calibration file.
    camera_names
        New names for the file's cameras, in the file's order (e.g. the session's names).
    image_sizes
        The videos' (width, height) by (new) camera name; a camera whose calibrated size
        differs is mapped with :func:`resize_camera`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No calibration file at {path}",
                         fix="give the path of a .toml (aniposelib) or .qca.txt (Qualisys) file")
    name = path.name.lower()
    if name.endswith(".qca.txt") or name.endswith(".qca"):
        rig = read_qca(path)
    elif name.endswith(".toml"):
        rig = Rig.load(path)
    else:
        raise InputError(f"Unknown calibration format {path.name!r}", where=str(path),
                         fix="give an aniposelib .toml or a Qualisys .qca.txt")
    cams = list(rig.cameras)
    if camera_names is not None:
        if len(camera_names) != len(cams):
            raise InputError(
                f"The calibration has {len(cams)} cameras ({', '.join(rig.names)}) but "
                f"{len(camera_names)} names were given ({', '.join(camera_names)})",
                where=str(path), fix="give one name per camera, in the file's order")
        cams = [Camera(n, c.size, c.matrix, c.distortions, c.rotation, c.translation_mm)
                for n, c in zip(camera_names, cams, strict=True)]
    meta = dict(rig.metadata)
    renamed = {}
    if image_sizes:
        for i, c in enumerate(cams):
            if c.name in image_sizes and tuple(image_sizes[c.name]) != c.size:
                renamed[c.name] = {"calibrated_size": list(c.size),
                                   "video_size": list(image_sizes[c.name])}
                log.info("camera %s: calibrated at %s, videos are %s: scaling about the centre",
                         c.name, c.size, image_sizes[c.name])
                cams[i] = resize_camera(c, image_sizes[c.name])
    if renamed:
        meta["resized"] = renamed
    if camera_names is not None:
        meta["original_names"] = rig.names
    return Rig(tuple(cams), meta)
