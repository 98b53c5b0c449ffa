"""liftlab: multi-camera 3D biomechanics for barbell athletes.

The stages live in sibling top-level folders of the repository and install as
subpackages: ``liftlab.capture``, ``liftlab.calibration``, ``liftlab.reconstruction``,
``liftlab.metrics``, ``liftlab.workers``, ``liftlab.storage``, ``liftlab.reports``.
``liftlab.core`` holds the typed hand-off containers every stage shares.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("liftlab")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
