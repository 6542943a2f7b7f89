"""The name of every event the runtime, the shipped roles and the coordination services write.

Emitters and readers use :class:`EventName` instead of repeating the string, so a typo is an
``AttributeError`` rather than an event nobody counts. It is a ``StrEnum``: a member is the string
itself (``EventName.BLOCK_SEEN == "block_seen"``), so it is written, compared and used as a key
as the string would be. Each is documented, with its fields, in ``docs/events.md``;
``tests/unit/test_event_names.py`` checks that every documented event is a member and every member
is documented, and that the project emits no event by a bare string. A user-defined role emits
names of its own (``RoleActor.emit`` takes any string), as the example role
``actors/example_browser.py`` does; role authors find :class:`EventName` in
:mod:`monerosim_actors.role`.
"""

from __future__ import annotations

from enum import StrEnum


class EventName(StrEnum):
    """Every event name of ``docs/events.md``, grouped by who writes it."""

    # --- the host runtime (actor: runtime) -----------------------------------------------------
    HOST_STARTED = "host_started"
    ROLE_STARTED = "role_started"
    HOST_STOPPED = "host_stopped"

    # --- managed programs (actor: supervisor) --------------------------------------------------
    PROCESS_STARTED = "process_started"
    PROCESS_READY = "process_ready"
    PROCESS_EXITED = "process_exited"
    PROCESS_RESTARTED = "process_restarted"
    PROCESS_FAILED = "process_failed"
    PROCESS_LEFTOVER_STOPPED = "process_leftover_stopped"

    # --- the bus (actor: bus) ------------------------------------------------------------------
    MSG_SENT = "msg_sent"
    MSG_RECEIVED = "msg_received"
    MSG_DROPPED = "msg_dropped"
    BLOCK_SEEN = "block_seen"
    CHAIN_REORGANIZED = "chain_reorganized"
    TX_SEEN = "tx_seen"
    BUS_FAILED = "bus_failed"
    INBOX_OVERFLOW = "inbox_overflow"

    # --- any role (monerosim_actors/role/actor.py) ----------------------------------------------
    MSG_REJECTED = "msg_rejected"
    ACTOR_ERROR = "actor_error"
    WALLET_OPENED = "wallet_opened"
    ACTOR_FAILED = "actor_failed"

    # --- block controller ----------------------------------------------------------------------
    POOL_REGISTERED = "pool_registered"
    REGISTRATION_CLOSED = "registration_closed"
    BOOTSTRAP_STEP = "bootstrap_step"
    USER_FUNDED = "user_funded"
    BOOTSTRAP_DONE = "bootstrap_done"
    MINE_ORDERED = "mine_ordered"
    MINE_COMPLETED = "mine_completed"
    MINE_FAILED = "mine_failed"
    """Written by the block controller (the pool answered ``MineFailed``) and by the pool itself."""
    MINE_TIMEOUT = "mine_timeout"
    CONTROLLER_RESUMED = "controller_resumed"
    MINE_SKIPPED = "mine_skipped"

    # --- mining pool ---------------------------------------------------------------------------
    BLOCK_MINED = "block_mined"
    REGISTRATION_REFUSED = "registration_refused"

    # --- marketplace directory and marketplace -------------------------------------------------
    VENDORS_REGISTERED = "vendors_registered"
    """Written by the directory (a registration replaced an entry) and by the marketplace (acknowledged)."""
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_CONFIRMED = "payment_confirmed"

    # --- regular user --------------------------------------------------------------------------
    FUNDS_RECEIVED = "funds_received"
    BOOTSTRAP_FAILED = "bootstrap_failed"
    PAYMENTS_STARTED = "payments_started"
    PAYMENT_INTENT = "payment_intent"
    PAYMENT_SENT = "payment_sent"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_RECONCILED = "payment_reconciled"

