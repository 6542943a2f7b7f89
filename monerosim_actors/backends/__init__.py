"""The backends that run a generated simulation: ``local`` (every host a local process group on its own
loopback address) and ``shadow`` (the ``shadow`` binary on ``OUT/shadow.yaml``). Both leave the same
layout, ``OUT/shadow.data/hosts/HOST/``, so that ``analyze`` reads either alike.
"""
