"""One module per CLI stage, each with ``add_arguments(parser)`` and ``run(opts) -> int``.

They stay thin: parse, call the stage's library code, print. Heavy imports live inside ``run``.
"""
