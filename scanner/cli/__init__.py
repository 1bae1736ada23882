"""The ``scanner`` command line; the entry point is :func:`scanner.cli.app.main`."""
