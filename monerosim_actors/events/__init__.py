"""The event log's vocabulary and its one reader, below everything that writes or reads it.

:mod:`.names` holds the name of every event the runtime and the shipped roles and services write
(``docs/events.md`` documents each; a unit test keeps the two in step). :mod:`.read` is how every
consumer reads an ``events.jsonl`` (analysis, the backends' progress display, tests and benchmarks).
The writer is :class:`monerosim_actors.runtime.events.EventLog`. Neither module imports anything of
the project, so roles, the runtime, the backends and analysis may all import them.
"""
