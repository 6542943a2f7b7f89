"""Which bus message was the first on its TCP connection, and so may carry the handshakes.

Every host's bus connects one ZeroMQ DEALER to each coordination service's ROUTER (see
``runtime/transport.py``); a frame to a service goes out on the sender's own DEALER, and a service's
frame to any other host goes back through its ROUTER on the connection that host's DEALER opened.
So one TCP connection carries both directions between a client and a service, and a reply never
waits for a handshake: a ROUTER can only address a peer whose ZMTP handshake is done. The message
that can have waited for the TCP handshake and the ZMTP greeting and handshake (several round trips)
is the client's first one on the connection: it is flagged ``first_on_connection``. Whether it did
wait depends on how soon after the connect it was sent.

A host of a role with ``talks_to`` also opens a DEALER to each host of those roles it writes to (a
*route*, opened by its first message there): that message is a first one too, and the route's
listener answers over it. Two hosts that are each other's routes talk over two connections.

A connection lives as long as the runtimes at both ends: when either host's runtime starts again
(another ``host_started``), the DEALER connects anew, and the client's next message is a first one
again. Two services talk over two connections, one from each service's DEALER.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd


def first_on_connection(messages: pd.DataFrame, services: Collection[str],
                        starts: pd.DataFrame, routes: Collection[tuple[str, str]] = ()) -> pd.Series:
    """Whether each message is the first a client delivered on its connection to a service (or to
    a host it has a route to).

    Args:
        messages: ``src``, ``dst``, ``sent_at``, ``recv_at``, in send order.
        services: the host names of the coordination services (the ROUTERs).
        starts: ``host`` and ``t`` of every ``host_started``.
        routes: ``(src, dst)`` pairs whose messages go out on the sender's own DEALER to a host
            that is not a service (the plan's ``talks_to``).
    """
    pairs = set(routes)
    routed = pd.Series([(s, d) in pairs for s, d in zip(messages["src"], messages["dst"])],
                       index=messages.index, dtype=bool) if pairs else False
    on_dealer = (messages["dst"].isin(list(services)) | routed) & (messages["src"] != messages["dst"])
    delivered = on_dealer & messages["recv_at"].notna()
    m = messages[delivered]
    key = pd.DataFrame({"client": m["src"], "service": m["dst"],
                        "client_run": _runs(m["src"], m["sent_at"], starts),
                        "service_run": _runs(m["dst"], m["recv_at"], starts)}, index=m.index)
    first = pd.Series(False, index=messages.index)
    first[m.index] = ~key.duplicated().to_numpy()
    return first


def _runs(hosts: pd.Series, times: pd.Series, starts: pd.DataFrame) -> np.ndarray:
    """How many times each host's runtime had started by the given time (0 for a host that never
    restarted: only hosts that started more than once need telling apart)."""
    out = np.zeros(len(hosts), dtype="int64")
    for host, t in starts.groupby("host", sort=True)["t"]:
        if len(t) > 1:
            rows = (hosts == host).to_numpy()
            out[rows] = np.searchsorted(np.sort(t.to_numpy()), times.to_numpy()[rows], side="right")
    return out
