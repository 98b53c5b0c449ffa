"""Ray-cast primitives of the virtual lab: round cones, ellipsoids and spheres.

Each primitive gives, for a bundle of camera rays from one origin, the distance to its first
hit (``inf`` = miss) and a function giving unit normals at selected hits, so a renderer can
keep the nearest surface per pixel and shade only the pixels it wins. Also the small vector
helpers (:func:`unit`, :func:`lerp`) the mannequin is built with.

Hand-written because no maintained Python library ray casts analytic primitives through an
OpenCV-distorted camera (see :mod:`liftlab.capture.virtual.render`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (returned unchanged when shorter than 1e-9)."""
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def lerp(a: np.ndarray, b: np.ndarray, f: float) -> np.ndarray:
    """The point a fraction ``f`` of the way from ``a`` to ``b``."""
    return a + (b - a) * f


@dataclass(frozen=True)
class RoundCone:
    """Convex hull of a sphere of radius ``ra`` at ``a`` and one of radius ``rb`` at ``b``."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    material: str

    def bounds(self) -> list[tuple[np.ndarray, float]]:
        return [(self.a, self.ra), (self.b, self.rb)]

    def intersect(self, origin: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, Callable]:
        """Ray distances ``t`` (inf = miss) for rays (..., 3) from ``origin``, and a function
        giving unit normals at selected hits. After Inigo Quilez's analytic round cone."""
        ba = self.b - self.a
        oa = origin - self.a
        ob = origin - self.b
        ra, rb = self.ra, self.rb
        rr = ra - rb
        m0 = float(ba @ ba)
        m1 = float(ba @ oa)
        m5 = float(oa @ oa)
        m7 = float(ob @ ob)
        m2 = rays @ ba.astype(np.float32)
        m3 = rays @ oa.astype(np.float32)
        m6 = rays @ ob.astype(np.float32)
        d2 = m0 - rr * rr
        k2 = d2 - m2 * m2
        k1 = d2 * m3 - m1 * m2 + m2 * (rr * ra)
        k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
        h = k1 * k1 - k0 * k2
        hit = h >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            t_body = (-np.sqrt(np.where(hit, h, 0.0)) - k1) / k2
        y = m1 - ra * rr + t_body * m2
        body = hit & (y > 0) & (y < d2)
        h1 = m3 * m3 - m5 + ra * ra
        h2 = m6 * m6 - m7 + rb * rb
        t1 = np.where(h1 > 0, -m3 - np.sqrt(np.maximum(h1, 0)), np.inf)
        t2 = np.where(h2 > 0, -m6 - np.sqrt(np.maximum(h2, 0)), np.inf)
        t_caps = np.minimum(t1, t2)
        t = np.where(body, t_body, np.where(hit, t_caps, np.inf))
        t = np.where(t > 0, t, np.inf).astype(np.float32)
        cap_b = t2 < t1

        def normals(sel: np.ndarray) -> np.ndarray:
            d = rays[sel]
            ts = t[sel][:, None]
            p_oa = oa + ts * d
            n_body = d2 * p_oa - np.outer(y[sel], ba)
            n_a = p_oa / ra
            n_b = (ob + ts * d) / rb
            n = np.where(body[sel][:, None], n_body, np.where(cap_b[sel][:, None], n_b, n_a))
            return n / np.linalg.norm(n, axis=1, keepdims=True)

        return t, normals


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid centred at ``center`` with semi-axes ``radii`` along the rows of ``axes``."""

    center: np.ndarray
    axes: np.ndarray
    radii: np.ndarray
    material: str

    def bounds(self) -> list[tuple[np.ndarray, float]]:
        return [(self.center, float(np.max(self.radii)))]

    def intersect(self, origin: np.ndarray, rays: np.ndarray) -> tuple[np.ndarray, Callable]:
        """Ray distances (inf = miss) and a normal function, as :meth:`RoundCone.intersect`."""
        scale = (self.axes / self.radii[:, None]).astype(np.float32)  # world -> unit sphere
        oc = scale @ (origin - self.center)
        d = rays @ scale.T
        a = np.einsum("...i,...i->...", d, d)
        b = d @ oc.astype(np.float32)
        c = float(oc @ oc) - 1.0
        h = b * b - a * c
        t = np.where(h >= 0, (-b - np.sqrt(np.maximum(h, 0))) / a, np.inf)
        t = np.where(t > 0, t, np.inf).astype(np.float32)

        def normals(sel: np.ndarray) -> np.ndarray:
            q = oc + t[sel][:, None] * d[sel]
            n = q @ scale  # gradient direction: scale.T @ q
            return n / np.linalg.norm(n, axis=1, keepdims=True)

        return t, normals


def sphere(center: np.ndarray, radius: float, material: str) -> Ellipsoid:
    """A sphere of ``radius`` at ``center``, as an :class:`Ellipsoid`."""
    return Ellipsoid(center, np.eye(3), np.full(3, float(radius)), material)


#: Any primitive: each has ``material``, ``bounds()`` (bounding spheres) and ``intersect()``.
Primitive = RoundCone | Ellipsoid
