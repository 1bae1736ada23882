"""History: the run store, drift between runs, baselines and evidence."""
