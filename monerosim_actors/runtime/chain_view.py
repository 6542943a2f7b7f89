"""What a node's main chain is, followed from its monerod's ``json-minimal-chain_main`` feed alone.

monerod publishes one notification per change of its main chain: the first height of the change,
the parent of its first block (``first_prev_id``) and the new blocks' hashes. A chain that grows
is published from the height above the old top. A reorganisation (the node switched to a branch
with more work, ``Blockchain::switch_to_alternative_blockchain``) is published block by block from
the height where the branches split, which is at or below the old top: so a notification whose
first height is at or below the known top says the node dropped the blocks from that height up.

What the feed cannot see: an alternative block that does not (yet) win is never published (no
topic carries alternative blocks; ``json-full-miner_data`` only repeats the new top), so a node that
received a rival block and kept its own tip says nothing of it. Analysis finds such blocks from the
pools' ``block_mined`` lines instead.

Pure bookkeeping, no I/O: the bus calls :meth:`ChainView.advance` for each notification it already
reads, so following the chain costs no system call while nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NewBlock:
    """A block this node has not announced before."""

    height: int
    hash: str
    prev: str
    """Its parent's hash (from the notification: ``first_prev_id`` or the block before it)."""


@dataclass(frozen=True)
class Reorganization:
    """The node switched tips: the blocks from ``height`` to ``top_before`` left its main chain."""

    height: int
    """The first height of the branch it switched to (the split is just below)."""
    top_before: int
    dropped: tuple[str, ...]
    """The hashes that left the main chain, lowest first (those this view knew)."""

    @property
    def depth(self) -> int:
        """How many blocks the node dropped."""
        return self.top_before - self.height + 1


class ChainView:
    """One node's main chain as its notifications tell it (height -> hash), and the blocks seen."""

    def __init__(self) -> None:
        self._main: dict[int, str] = {}
        self._top: int | None = None
        self._seen: set[str] = set()

    def advance(self, first_height: int, first_prev: str,
                ids: tuple[str, ...]) -> tuple[list[NewBlock], Reorganization | None]:
        """Take one notification; return the blocks announced for the first time and the
        reorganisation it means, if any.

        A reorganisation starts at the lowest height of the notification whose hash differs from
        the one this view knows, if that height is at or below the known top: a notification
        repeated unchanged moves nothing. Before the view knows a top there is none.
        """
        reorg = None
        if self._top is not None:
            changed = next((first_height + i for i, h in enumerate(ids)
                            if first_height + i <= self._top and self._main.get(first_height + i) != h),
                           None)
            if changed is not None:
                heights = range(changed, self._top + 1)
                dropped = tuple(self._main[h] for h in heights if h in self._main)
                reorg = Reorganization(height=changed, top_before=self._top, dropped=dropped)
                for h in heights:
                    self._main.pop(h, None)
        new = []
        prev = first_prev
        for i, block_hash in enumerate(ids):
            self._main[first_height + i] = block_hash
            if block_hash not in self._seen:
                self._seen.add(block_hash)
                new.append(NewBlock(first_height + i, block_hash, prev))
            prev = block_hash
        if ids and (reorg is not None or self._top is None or first_height + len(ids) - 1 > self._top):
            self._top = first_height + len(ids) - 1
        return new, reorg
