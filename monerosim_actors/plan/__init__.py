"""The plan: every host, process and address of a run, derived from the scenario alone."""
