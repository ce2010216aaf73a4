# -*- test-case-name: tests.test_tap -*-
"""twistd plugin: ``twistd -n rr -c .rr.yaml``; the options and service live in rr.tap.

Importing this module must stay cheap and must not import rr or the reactor: twistd
imports every plugin to list them, before it installs the reactor.
"""

from __future__ import annotations

from twisted.application.service import ServiceMaker

roadrunner = ServiceMaker(
    "RoadRunner", "rr.tap", "PHP application server (RoadRunner-compatible)", "rr"
)
