"""txrr: a RoadRunner-compatible PHP application server on Twisted."""

from __future__ import annotations

from rr._version import RR_VERSION, __version__

__all__ = ["RR_VERSION", "__version__"]
