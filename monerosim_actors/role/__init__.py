"""Everything a role author needs, in one place: ``from monerosim_actors.role import ...``.

A role is a :class:`RoleActor` subclass (see :mod:`monerosim_actors.role.actor` for its hooks and
tasks). It speaks bus messages: its own (subclass :class:`Message` with ``kind="..."``; the plan makes
every host load the module that defines them) and the coordination services' ones, which live
beside the services in :mod:`monerosim_actors.coordination.messages`. To test a role without
monerod, wallets or sockets, use :mod:`monerosim_actors.testing`.

This module only gathers names; each is documented where it is defined.
"""

from monerosim_actors.errors import (MonerosimError, RpcConnectionError, RpcError, RpcMalformedAnswer,
                                     RpcResponseError, RpcTimeout)
from monerosim_actors.events.names import EventName
from monerosim_actors.plan.model import ATOMIC_PER_XMR
from monerosim_actors.role import state
from monerosim_actors.role.actor import RoleActor, task
from monerosim_actors.role.resend import Resend
from monerosim_actors.role.wait_time import (WaitTime, between, constant, exponential, from_param,
                                             per_minute_probability, per_minute_probability_rate)
from monerosim_actors.role.wallet import open_or_create, subaddresses
from monerosim_actors.runtime.context import HostContext
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, ProcessRestarted, TxpoolAdded
from monerosim_actors.runtime.rpc import STATUS_BUSY, DaemonRpc, TransferEntry, WalletRpc
from monerosim_actors.wire import Envelope, Message

__all__ = [
    "ATOMIC_PER_XMR", "STATUS_BUSY",
    "ChainAdvanced", "DaemonRpc", "Delivered", "Envelope", "EventName", "HostContext", "Message",
    "MonerosimError", "ProcessRestarted", "Resend", "RoleActor", "RpcConnectionError", "RpcError",
    "RpcMalformedAnswer", "RpcResponseError", "RpcTimeout", "TransferEntry", "TxpoolAdded", "WaitTime",
    "WalletRpc", "between", "constant", "exponential", "from_param", "open_or_create", "per_minute_probability",
    "per_minute_probability_rate", "state", "subaddresses", "task",
]
