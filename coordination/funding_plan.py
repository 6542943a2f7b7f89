"""The funding plan: how many outputs each user gets, and how they are packed into the faucet's transfers.

How many outputs a user gets (:func:`outputs_for_rate`): a payment spends an output and its change
is locked until the payment is in a block and 10 blocks deep, which is on average
:data:`SPENDABLE_AGE_BLOCKS` block times (the wait for the next block, then 9 more). A user that pays
at rate ``r`` (``transaction_frequency`` p per minute is the Poisson rate ``-ln(1 - p)`` per minute)
makes on average ``m = r * 10 * block_time`` payments in that time. Its outputs are like the servers
of a queue: each payment holds one for a lock period, and a payment that finds none unlocked waits
for the next to unlock. The user gets the fewest outputs with which a payment has to wait with
probability at most 1% (:data:`WAIT_PROBABILITY`), by Erlang's C formula for ``m`` (payments per
lock period) and ``n`` outputs, at least :data:`MIN_OUTPUTS_PER_USER` and at most
:data:`MAX_OUTPUTS_PER_USER`: 10 outputs for the quickstart (``m`` = 3.5), 7 for the seed's example
(``m`` = 2.1). The scenario can set the number instead (``regular_users.config.outputs_per_user``).

A user's balance is split over its outputs (:func:`split_amount`), and the outputs of the users in
paying order fill transfers of at most :data:`MAX_DESTINATIONS` destinations (:func:`pack_transfers`).
Pure functions: :mod:`monerosim_actors.coordination.bootstrap` carries the plan out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from monerosim_actors.role import per_minute_probability_rate

SPENDABLE_AGE_BLOCKS = 10
"""CRYPTONOTE_DEFAULT_TX_SPENDABLE_AGE: blocks before a (non-coinbase) output can be spent."""
MAX_DESTINATIONS = 15
"""Destinations per faucet transfer (monero allows 16 outputs per transaction, change included)."""
FEE_RESERVE_PER_TX = 10**11
"""0.1 XMR kept per transfer for its fee; regtest fees are far below this."""
MIN_OUTPUTS_PER_USER = 4
"""The fewest outputs :func:`outputs_for_rate` gives a user, however slowly it pays."""
MAX_OUTPUTS_PER_USER = 1000
"""The most outputs a user gets (also the largest ``outputs_per_user`` a scenario may set)."""
WAIT_PROBABILITY = 0.01
"""With the outputs :func:`outputs_for_rate` gives, at most this share of a user's payments find
every output locked."""


def outputs_for_rate(transaction_frequency: float, block_time_s: float) -> int:
    """How many outputs a user paying with probability ``transaction_frequency`` per minute needs
    when blocks come every ``block_time_s`` seconds (the rule is in the module's docstring).

    >>> outputs_for_rate(0.5, 30)    # the quickstart: 3.5 payments per lock period on average
    10
    >>> outputs_for_rate(0.1, 120)   # the seed's example: 2.1
    7
    """
    load = per_minute_probability_rate(transaction_frequency) * SPENDABLE_AGE_BLOCKS * block_time_s
    for n in range(MIN_OUTPUTS_PER_USER, MAX_OUTPUTS_PER_USER):
        if erlang_c(n, load) <= WAIT_PROBABILITY:
            return n
    return MAX_OUTPUTS_PER_USER


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival waits in a queue with ``servers`` servers and an offered
    ``load`` (arrival rate times holding time; M/M/n, Erlang's C formula), 1 when ``load >= servers``.
    Computed through Erlang's B formula by its recurrence, which never overflows."""
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1 - b))


def split_amount(amount: int, outputs: int) -> list[int]:
    """``amount`` in ``outputs`` near-equal parts (the last takes the remainder), never a zero part."""
    k = max(1, min(outputs, amount))
    part = amount // k
    return [part] * (k - 1) + [amount - part * (k - 1)]


def pack_transfers(parts: Iterable[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    """Group users' outputs into transfers of at most :data:`MAX_DESTINATIONS` destinations.

    ``parts`` are ``(user_id, outputs)`` in paying order; each transfer is yielded as ``(user_id,
    outputs in this transfer)`` pairs. A user's outputs share one transfer when they fit in what is
    left of it, otherwise they start the next one; a user with more than :data:`MAX_DESTINATIONS`
    fills whole transfers and its remainder starts one that the next users join. Lazy: taking the
    first transfer reads only the users in it (and one more).
    """
    current: list[tuple[str, int]] = []
    room = MAX_DESTINATIONS
    for user_id, n in parts:
        if n > room and current:
            yield current
            current, room = [], MAX_DESTINATIONS
        while n > 0:
            take = min(n, room)
            current.append((user_id, take))
            room -= take
            n -= take
            if room == 0:
                yield current
                current, room = [], MAX_DESTINATIONS
    if current:
        yield current


@dataclass(frozen=True)
class UserFunding:
    """An expected user: who, where, how much (atomic units), in how many outputs."""

    user_id: str
    host: str
    amount: int
    outputs: int = MIN_OUTPUTS_PER_USER


def transfer_values(users: Sequence[UserFunding]) -> list[int]:
    """What each transfer pays when ``users`` are paid in this order (:func:`pack_transfers`)."""
    owed = {u.user_id: split_amount(u.amount, u.outputs) for u in users}
    paid = dict.fromkeys(owed, 0)
    values = []
    for transfer in pack_transfers((uid, len(parts)) for uid, parts in owed.items()):
        value = 0
        for uid, n in transfer:
            value += sum(owed[uid][paid[uid]:paid[uid] + n])
            paid[uid] += n
        values.append(value)
    return values
