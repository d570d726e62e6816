"""The host's messages to the zygote (``zygote.ZygoteClient``), the descriptors they hand it,
and whose those are until a message is sent.

A queued request holds descriptors of its own (duplicates, and the config memfd), never the
caller's numbers: a caller may close its fd while the request waits (a cancelled cold start
releases its sandbox's namespace and /tmp disk), and the number could then name another
sandbox's namespace or disk by the time the request goes out. SCM_RIGHTS gives the receiver
its own references, so the host's copies are closed as soon as the message is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)  # identity: a queued request is found again by itself
class Outgoing:
    """One message for the zygote, with the fds to pass (SCM_RIGHTS) and those of ``fds``
    that are ours, closed once it is sent or dropped. ``on_drop`` hears of it when the
    queue drops it unsent (the error that stopped the queue; None: the socket was
    detached), so whoever awaits its answer is not left waiting forever."""

    message: bytes
    fds: tuple[int, ...] = ()
    owned: tuple[int, ...] = ()
    on_drop: Callable[[OSError | None], None] | None = None

    def close(self) -> None:
        close_all(self.owned)


class SendQueue:
    """Messages sent in order over a non-blocking socket: now, or once it is writable again
    (a burst of cold starts can fill its buffer, and a send must then wait rather than
    fail). Each message's owned fds are closed once it is sent, dropped, or fails to send."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._queue: deque[Outgoing] = deque()
        # Whether ``_flush`` is registered as the socket's writer: tracked rather than
        # inferred from the queue, which ``unqueue`` may empty while the watch stays (a
        # watch left on a closed socket fires on whatever reuses its number).
        self._writing = False

    def attach(self, sock: socket.socket | None) -> None:
        """Send over ``sock`` from now on; None: nowhere (what is queued is dropped)."""
        self.clear()
        self._sock = sock

    def send(
        self,
        message: bytes,
        fds: Sequence[int] = (),
        owned: Sequence[int] = (),
        on_drop: Callable[[OSError | None], None] | None = None,
    ) -> Outgoing | None:
        """Send ``message`` with ``fds``; returns it when it had to be queued. The ``owned``
        fds (among ``fds``) are ours to close. Raises OSError when the socket refuses now;
        ``on_drop`` is called instead if a queued message is dropped unsent later."""
        outgoing = Outgoing(message, tuple(fds), tuple(owned), on_drop)
        if self._sock is None:
            outgoing.close()
            return None
        if not self._queue:
            try:
                socket.send_fds(self._sock, [message], list(fds))
                outgoing.close()
                return None
            except BlockingIOError:
                asyncio.get_running_loop().add_writer(self._sock.fileno(), self._flush)
                self._writing = True
            except OSError:
                outgoing.close()
                raise
        self._queue.append(outgoing)
        return outgoing

    def _flush(self) -> None:
        if self._sock is None:  # detached meanwhile: nothing to send, nowhere to send it
            self._stop_writing()
            return
        while self._queue:
            outgoing = self._queue[0]
            try:
                socket.send_fds(self._sock, [outgoing.message], list(outgoing.fds))
            except BlockingIOError:
                return
            except OSError as exc:
                self.clear(exc)
                return
            self._queue.popleft()
            outgoing.close()
        self._stop_writing()

    def unqueue(self, outgoing: Outgoing | None) -> None:
        """Drop a message not sent yet (a cold start that was cancelled: a sandbox nobody
        awaits must not be launched later)."""
        if outgoing is not None and outgoing in self._queue:
            self._queue.remove(outgoing)
            outgoing.close()
            if not self._queue:
                self._stop_writing()

    def clear(self, error: OSError | None = None) -> None:
        """Drop every queued message, telling each one's ``on_drop`` (``error`` stopped
        the queue; None: it was detached)."""
        self._stop_writing()
        dropped, self._queue = self._queue, deque()
        for outgoing in dropped:
            outgoing.close()
        for outgoing in dropped:
            if outgoing.on_drop is not None:
                outgoing.on_drop(error)

    def _stop_writing(self) -> None:
        if self._writing:
            self._writing = False
            if self._sock is not None:
                asyncio.get_running_loop().remove_writer(self._sock.fileno())

    def __len__(self) -> int:
        return len(self._queue)


def close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        close_fd(fd)


def dup_each(fds: Sequence[int | None]) -> list[int | None]:
    """A close-on-exec duplicate of each fd (None stays None); on failure none is left open."""
    copies: list[int | None] = []
    try:
        for fd in fds:
            copies.append(None if fd is None else os.dup(fd))
    except BaseException:
        close_all([fd for fd in copies if fd is not None])
        raise
    return copies


def memfd_holding(data: bytes) -> int:
    """A memfd (close-on-exec) with ``data`` written to it; readers use pread from 0."""
    fd = os.memfd_create("nimbus-sandbox-config", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd
