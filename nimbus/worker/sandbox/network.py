"""Isolated function networks: one network namespace per environment, made ahead of time.

Per server (``FunctionNetwork``): a block of addresses claimed with an flock (several servers
share a machine in the test suite, as with uid blocks), a bridge holding the gateway
address, and one nft table (``network_policy.ruleset``). Per environment (``Netns``, made by
``network_namespace``): a network namespace whose one veth is an *isolated* port of the
bridge (no frame passes between two isolated ports, so environments have no layer 2 path to
each other), held by a file descriptor of the server.

Name resolution: environments use the host's resolvers. Remote ones are let through on
port 53 (even in a private range); when the first is on the host's loopback (systemd-resolved's
127.0.0.53), environments see a resolv.conf naming their gateway instead, which the nft table
DNATs to it (``network_host.sandbox_resolv_conf``, bound over /etc/resolv.conf).

Forwarding: NAT out needs net.ipv4.ip_forward. Where Nimbus turned it on and no other firewall
filters forwarding, the table also drops forwarded IPv4 traffic that touches no Nimbus bridge,
so the host routes for nobody else
(``host_firewall.forwarding_plan``); a firewall dropping forwarded packets by default
(Docker's) is reported with its fix.

Making a namespace costs ~1 ms of kernel time (unshare) plus a share of one ``ip`` process;
a pool keeps ``pool_size`` ready so that a cold start only takes one, and concurrent cold
starts that find it empty share one batch. Releasing one is closing its descriptor: the
kernel tears it down in a workqueue, off every path Nimbus waits on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import subprocess
from pathlib import Path

from nimbus.errors import public_reason
from nimbus.worker.sandbox import network_host, network_namespace
from nimbus.worker.sandbox import network_policy as policy
from nimbus.worker.sandbox.config import Bind
from nimbus.worker.sandbox.host_lock import private_dir
from nimbus.worker.sandbox.network_namespace import Netns, NetworkError

log = logging.getLogger(__name__)

LOCK_DIR = Path("/run/nimbus/net")  # private: host_lock.private_dir
MAX_BATCH = 16  # namespaces one refill makes: bounds the time a burst of cold starts waits


class FunctionNetwork:
    """One server's isolated function network (root only)."""

    def __init__(
        self,
        *,
        api_host: str,
        api_port: int,
        host_ports: tuple[int, ...] = (),
        pool_size: int = 4,
        lock_dir: Path = LOCK_DIR,
        resolv_conf: Path = network_host.DEFAULT_RESOLV_CONF,
        state_dir: Path | None = None,
    ) -> None:
        """``resolv_conf``: the host's (its nameservers are the ones environments may
        reach); ``state_dir``: where the resolv.conf environments get instead is written,
        when they need one (the lock directory if None)."""
        self._api_target = policy.api_target(api_host)
        self._api_port = api_port
        self._host_ports = host_ports
        self._size = pool_size
        self._lock_dir = lock_dir
        self._resolv_conf = resolv_conf
        self._state_dir = state_dir
        self._binds: tuple[Bind, ...] = ()
        self._block: policy.Block | None = None
        self._rules: policy.Rules | None = None
        self._lock: int | None = None
        self._host_fd = -1
        self._addresses = policy.AddressPool()
        # Veth names must not collide with those of an earlier server of the same block,
        # which the kernel may still be tearing down: start at a random serial.
        self._serial = int.from_bytes(os.urandom(4), "little")
        self._ready: list[Netns] = []
        self._waiters: list[asyncio.Future[Netns]] = []
        self._refill: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def block(self) -> policy.Block:
        assert self._block is not None, "FunctionNetwork.start() claims the block"
        return self._block

    @property
    def gateway(self) -> str:
        return self.block.gateway

    @property
    def endpoint_url(self) -> str:
        """AWS_ENDPOINT_URL inside an environment: the gateway, DNAT-ed to the server."""
        return f"http://{self.gateway}:{self._api_port}"

    @property
    def binds(self) -> tuple[Bind, ...]:
        """What environments mount over the host's files: a resolv.conf of their own when
        the host's names a loopback resolver (``policy.resolv_conf``)."""
        return self._binds

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._set_up)
        self._schedule_refill()

    def _set_up(self) -> None:
        self._host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        private_dir(self._lock_dir)
        routes = policy.parse_routes(Path("/proc/net/route").read_text())
        for index in policy.usable_blocks(routes):
            lock = self._try_lock(index)
            if lock is not None:
                self._lock, self._block = lock, policy.Block(index=index)
                break
        else:
            raise NetworkError("No free block of function network addresses on this machine.")
        self._sweep()
        try:
            host_resolv = self._resolv_conf.read_text()
        except OSError:
            host_resolv = ""
        forwarding = network_host.forwarding(self._lock_dir)
        self._rules = policy.Rules(
            block=self.block,
            api_port=self._api_port,
            api_target=self._api_target,
            host_ports=self._host_ports,
            nameservers=policy.nameservers(host_resolv),
            contain_forwarding=forwarding.contain,
        )
        block = self.block
        directory = self._state_dir if self._state_dir is not None else self._lock_dir
        resolv = network_host.sandbox_resolv_conf(
            host_resolv, self._resolv_conf, directory / f"resolv-{block.index}.conf", block.gateway
        )
        if resolv is not None:
            self._binds = (Bind(source=str(resolv), target="/etc/resolv.conf"),)
        # A fixed MAC: a bridge otherwise takes its ports' lowest one, which changes as
        # environments come and go and leaves their neighbour caches stale.
        mac = f"02:6e:6d:62:00:{block.index:02x}"
        network_namespace.run(["ip", "link", "add", block.bridge, "address", mac, "type", "bridge"])
        network_host.disable_ipv6(block.bridge)
        # DNAT to 127.0.0.1 (the API, host ports, a loopback resolver) needs this on the
        # interface the packets arrive on; the nft input chain admits only those DNATs.
        network_host.write(f"/proc/sys/net/ipv4/conf/{block.bridge}/route_localnet", "1")
        network_namespace.run(
            ["ip", "-batch", "-"],
            f"address add {block.gateway}/16 dev {block.bridge}\nlink set {block.bridge} up\n",
        )
        network_namespace.run(["nft", "-f", "-"], policy.ruleset(self._rules))
        network_host.enable_forwarding(forwarding, self._lock_dir)
        network_host.warn_about_firewall()

    def _try_lock(self, index: int) -> int | None:
        fd = os.open(
            self._lock_dir / f"block-{index}",
            os.O_CREAT | os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW,
            0o600,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _sweep(self) -> None:
        """Remove the bridges and tables of servers that died without closing (their block's
        flock is free), and any left in our own block."""
        bridges = {
            index
            for name in os.listdir("/sys/class/net")
            if (index := policy.block_of_bridge(name)) is not None
        }
        tables = policy.nimbus_tables(network_host.output(["nft", "list", "tables"]))
        for index in sorted(bridges | tables):
            mine = index == self.block.index
            lock = None if mine else self._try_lock(index)
            if not mine and lock is None:
                continue  # a live server's
            try:
                block = policy.Block(index=index)
                if index in bridges:
                    subprocess.run(["ip", "link", "del", block.bridge], capture_output=True)
                if index in tables:
                    subprocess.run(
                        ["nft", "delete", "table", "inet", block.table], capture_output=True
                    )
                log.info("removed the function network of a dead server (block %d)", index)
            finally:
                if lock is not None:
                    os.close(lock)

    async def close(self) -> None:
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()
            await asyncio.gather(self._refill, return_exceptions=True)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(NetworkError("The worker host is closing."))
        self._waiters = []
        ready, self._ready = self._ready, []
        for netns in ready:
            self.release(netns)
        if self._block is not None:
            await asyncio.to_thread(self._tear_down, self._block)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if self._host_fd >= 0:
            os.close(self._host_fd)
            self._host_fd = -1

    @staticmethod
    def _tear_down(block: policy.Block) -> None:
        subprocess.run(["nft", "delete", "table", "inet", block.table], capture_output=True)
        subprocess.run(["ip", "link", "del", block.bridge], capture_output=True)

    # -- namespaces -----------------------------------------------------------------------

    async def take(self) -> Netns:
        """A ready namespace; made now (batched with concurrent callers) when the pool is
        empty. Raises NetworkError when one cannot be made."""
        if self._closed:
            raise NetworkError("The worker host is closing.")
        if self._ready:
            netns = self._ready.pop(0)
            self._schedule_refill()
            return netns
        waiter: asyncio.Future[Netns] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._schedule_refill()
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after _hand_out gave this waiter a namespace: nobody else will
            # release it (its descriptor and address).
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(waiter.result())
            raise

    def release(self, netns: Netns) -> None:
        """Forget a namespace: the kernel deletes it (and its veth) once no process is left
        in it. Never raises."""
        with contextlib.suppress(OSError):
            os.close(netns.fd)
        self._addresses.release(netns.host)

    def listening_socket(self, netns: Netns) -> socket.socket:
        """A TCP socket listening on 127.0.0.1:9001 inside ``netns``: the environment's
        Runtime API, which nothing outside that namespace can connect to."""
        return network_namespace.listening_socket(netns, self._host_fd)

    def _schedule_refill(self) -> None:
        if self._refill is None and not self._closed:
            self._refill = asyncio.ensure_future(self._refill_loop())

    def _wanted(self) -> int:
        self._waiters = [w for w in self._waiters if not w.done()]
        return min(MAX_BATCH, len(self._waiters) + self._size - len(self._ready))

    async def _refill_loop(self) -> None:
        try:
            while not self._closed and (count := self._wanted()) > 0:
                hosts = [self._addresses.acquire() for _ in range(count)]
                serials = [(self._serial + n) & 0xFFFFFFFF for n in range(count)]
                self._serial += count
                try:
                    made = await asyncio.to_thread(self._make, hosts, serials)
                except Exception as exc:
                    # Whatever went wrong, the waiters (cold starts) must hear of it: a task
                    # that died of an unexpected error would leave them waiting for ever.
                    for host in hosts:
                        self._addresses.release(host)
                    log.warning("could not make function network namespaces: %r", exc)
                    for waiter in self._waiters:
                        if not waiter.done():
                            waiter.set_exception(
                                NetworkError(
                                    f"Could not make a function network: {public_reason(exc)}"
                                )
                            )
                    self._waiters = []
                    return
                for netns in made:
                    self._hand_out(netns)
        finally:
            self._refill = None

    def _hand_out(self, netns: Netns) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(netns)
                return
        if self._closed:
            self.release(netns)
        else:
            self._ready.append(netns)

    def _make(self, hosts: list[int], serials: list[int]) -> list[Netns]:
        """In a worker thread: ``len(hosts)`` namespaces (``network_namespace.make``)."""
        return network_namespace.make(self.block, hosts, serials, self._host_fd)
