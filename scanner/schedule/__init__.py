"""The nightly job: ``scanner schedule`` (an APScheduler daemon), ``--once`` and ``status``.

- :mod:`.firetimes` turns a firing into the slot the store decides on;
- :mod:`.cycle` is one cycle: the same ``run()`` as ``scanner scan``, then the
  ``reports/latest`` link, notifications and metrics;
- :mod:`.daemon` is the long-running process and its signals;
- :mod:`.status` answers "did last night's scan run?" for monitors.
"""

JOB_ID = "privatelink-scanner-nightly"
"""The one job's fixed id (``replace_existing=True`` keeps it one job across restarts)."""

JOB_FUNC = "scanner.schedule.cycle:scheduled_cycle"
"""The job's textual reference: the job store keeps this string, never pickled code."""
