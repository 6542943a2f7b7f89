"""One RandomX cache per machine and seed key, shared by every monerod (and one dataset, for the
mining nodes' fast mode), instead of 256 MiB per process.

``randomx_share.c`` (beside this file) is the preload library monerod runs with and says how it
works; :mod:`monerosim_actors.randomx.share` builds it, writes the shared files it maps, and gives
the plan the environment a monerod needs to use them.
"""
