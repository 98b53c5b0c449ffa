"""Starting and stopping Ray for liftlab: a local instance by default, or an existing cluster.

A local instance respects the machine's CPU count (or ``num_cpus``). A cluster address comes
from ``--ray-address`` or ``RAY_ADDRESS``. Ray 2.60 enables token authentication by default:
a client of a lab cluster needs the cluster's token (``~/.ray/`` on the head node, or the
``RAY_AUTH_TOKEN`` environment variable) — see the README.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from liftlab.core.errors import LiftlabError

log = logging.getLogger(__name__)


class RayError(LiftlabError):
    """Ray could not be started or reached."""


@contextmanager
def ray_session(*, address: str | None = None, num_cpus: int | None = None) -> Iterator[dict]:
    """Start (or join) Ray for the duration of the block; yields a description of it.

    Parameters
    ----------
    address
        ``ray://host:10001`` / ``host:6379`` of an existing cluster; None -> ``RAY_ADDRESS`` if
        set, else a local instance.
    num_cpus
        CPUs for a local instance (default: all of this machine's). Ignored for a cluster.
    """
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    owned = not ray.is_initialized()
    if owned:
        kwargs: dict = {"include_dashboard": False, "log_to_driver": False,
                        "logging_level": logging.WARNING}
        try:
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"Ray cluster at {address}" if address else "local Ray"
            raise RayError(
                f"Could not start or reach Ray: {exc}", where=where,
                fix="check --ray-address / RAY_ADDRESS (e.g. ray://head:10001), that the cluster "
                    "runs the same Ray and Python versions, and that its auth token is on this "
                    "machine; or omit --ray-address to run locally",
            ) from exc
    info = {"address": address or "local",
            "cpus": int(ray.cluster_resources().get("CPU", 0))}
    try:
        yield info
    finally:
        if owned:
            ray.shutdown()
