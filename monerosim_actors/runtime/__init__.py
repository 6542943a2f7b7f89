"""The host runtime: what runs on one simulated host (``python3 -m monerosim_actors.runtime.host``).

Modules, one job each: ``events`` (the JSON-lines event log), ``clock`` and ``scheduler`` (time),
``rpc`` (typed monerod / wallet-rpc clients), ``messages`` (what the runtime tells the role actor),
``context`` (what a role receives), ``inbox`` (holds role messages until the role exists),
``transport`` (the ZeroMQ sockets, bytes only), ``bus`` (envelopes, events, Ping/Pong),
``process`` (supervising monerod and monero-wallet-rpc), ``system`` (assembling and stopping it all).
"""
