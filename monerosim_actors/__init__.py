"""monerosim-actors: a Monero network simulated in Shadow, every participant played by an actor.

The data flows one way: scenario YAML -> plan -> per-host configs -> host runtimes -> event logs ->
analysis. Each stage is a module with a ``run(opts) -> int`` entry that the CLI imports lazily.
"""

__version__ = "0.1.0"
