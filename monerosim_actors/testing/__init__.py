"""A test harness for roles, installed with the package: role actors on fake hosts, in fake time.

:class:`FakeNet` runs role actors without threads, monerod, wallets or sockets: it delivers their bus
messages, timers and chain news itself, in the order of a fake clock, over a toy :class:`Ledger`
(fake ``monerod`` and ``monero-wallet-rpc`` clients for hosts that have them). A whole economy runs
deterministically in milliseconds. Its bus encodes, decodes and routes as the real one does, so a
role's passing test means the same messages arrive in a real run. ``docs/roles.md`` shows a custom
role's test written with it (``tests/unit/test_example_browser.py``)::

    net = FakeNet()
    for name in ("browser-0", "browser-1"):
        net.add(Browser, name, "browser", {"wait_time": 10}, talks_to=("browser",))
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory", {}, node=False)
    net.start()
    net.mine(5)
    net.run(until=300)   # fake seconds
    assert net.events("browser-0").named("browsed")
    assert net.events("browser-1").named("tip_shared")
"""

from monerosim_actors.testing.ledger import FEE, REWARD, RING_SIZE, XMR, FakeDaemon, FakeWallet, Ledger, Output
from monerosim_actors.testing.net import SERVICES, FakeClock, FakeNet, FakeTimer, Recorder, deliver, host_plan

__all__ = ["FEE", "REWARD", "RING_SIZE", "SERVICES", "XMR", "FakeClock", "FakeDaemon", "FakeNet", "FakeTimer",
           "FakeWallet", "Ledger", "Output", "Recorder", "deliver", "host_plan"]
