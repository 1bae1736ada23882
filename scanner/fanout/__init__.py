"""Collection on a Dask cluster (``executor.kind: dask``); the local executor lives in
:mod:`scanner.collectors.fanout`, which this package builds on."""
