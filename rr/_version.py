"""txrr's own version and the RoadRunner release it emulates."""

from __future__ import annotations

__version__ = "0.1.0"

#: The RoadRunner release whose behaviour txrr follows; printed by ``rr --version``
#: (Laravel Octane compares it with ``version_compare``) and exported as ``RR_VERSION``.
RR_VERSION = "2025.1.0"
