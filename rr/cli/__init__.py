"""The ``rr`` command line (entry point: ``rr.cli.main:main``)."""
