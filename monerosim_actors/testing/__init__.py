"""A test harness for roles, installed with the package: role actors on fake hosts, in fake time.

:class:`FakeNet` runs role actors without threads, monerod, wallets or sockets: it delivers their bus
messages, timers and chain news itself, in the order of a fake clock, over a toy :class:`Ledger`
(fake ``monerod`` and ``monero-wallet-rpc`` clients for hosts that have them). A whole economy runs
deterministically in milliseconds. ``docs/roles.md`` shows a custom role's test written with it::

    net = FakeNet()
    net.add(Browser, "browser-0", "browser", {"wait_time": 60}, node=False)
    net.add(MarketplaceDirectory, "marketplace-directory", "marketplace_directory", {}, node=False)
    net.start()
    net.run(until=600)   # fake seconds
    assert net.events("browser-0").named("vendors_seen")
"""

from monerosim_actors.testing.ledger import FEE, REWARD, RING_SIZE, XMR, FakeDaemon, FakeWallet, Ledger, Output
from monerosim_actors.testing.net import SERVICES, FakeClock, FakeNet, FakeTimer, Recorder, deliver, host_plan

__all__ = ["FEE", "REWARD", "RING_SIZE", "SERVICES", "XMR", "FakeClock", "FakeDaemon", "FakeNet", "FakeTimer",
           "FakeWallet", "Ledger", "Output", "Recorder", "deliver", "host_plan"]
