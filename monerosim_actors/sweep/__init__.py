"""Sweeps: many runs of one scenario over parameters and seeds, carried out on Dask.

``spec`` reads and checks the sweep file, ``expand`` turns it into runs (a scenario file and a
generated folder each), ``index`` reads and writes the sweep folder's files (``sweep.json``, each
run's ``run.json``), ``execute`` runs them on a Dask cluster, ``progress`` shows how far it is, and
``child`` keeps a run from outliving its worker. The analysis across runs is
:mod:`monerosim_actors.analysis.sweep`. Only ``execute`` needs Dask (the ``sweep`` extra), and only
inside its functions.
"""
