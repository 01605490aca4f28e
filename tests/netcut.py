"""A TCP proxy in front of PostgreSQL whose link the tests can cut and restore, as a network
outage between a kiosk and the estate's database server would; and a link that silently drops
every packet instead (:class:`BlackHoleLink`), the outage a kiosk cannot see coming."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

T = TypeVar("T")


class CuttableLink:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` drops every connection and
    refuses new ones, :meth:`restore` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self.restore()

    @classmethod
    def to(cls, url: str) -> tuple[CuttableLink, str]:
        """A link to the server of ``url``, and ``url`` rewritten to go through it."""
        u = make_url(url)
        link = cls(u.host or "127.0.0.1", u.port or 5432)
        through = u.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
        return link, through

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            dropped, self._open = self._open, []
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for s in dropped:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


CLONE_NEWNET = 0x40000000


class PrivateNetworkUnavailable(Exception):
    """This machine does not let the tests make a network namespace (needs root)."""


class PrivateNetwork:
    """A network namespace of the tests' own, holding only a loopback interface.

    Threads enter it (:meth:`executor`, :meth:`run`); the machine's network and every other
    process are untouched. Taking its loopback down (:meth:`blackhole`) drops every packet
    silently, as a dead switch or a pulled cable between a kiosk and its database would: no
    reset, no refusal, the peer simply never answers.
    """

    def __init__(self) -> None:
        import ctypes
        import os

        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd: int | None = None
        problem: list[str] = []

        def make() -> None:
            if self._libc.unshare(CLONE_NEWNET) != 0:
                problem.append(os.strerror(ctypes.get_errno()))
                return
            self._fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)

        maker = threading.Thread(target=make)
        maker.start()
        maker.join()
        if self._fd is None:
            raise PrivateNetworkUnavailable(f"unshare(CLONE_NEWNET): {problem[0]}")
        self.restore()

    def enter(self) -> None:
        """Move the calling thread into the namespace (for good)."""
        import ctypes

        if self._libc.setns(self._fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    def executor(self, workers: int = 4) -> Any:
        """A thread pool whose threads (and the sockets they open) live in the namespace."""
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(workers, thread_name_prefix="netns", initializer=self.enter)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a thread inside the namespace."""
        with self.executor(1) as pool:
            return pool.submit(fn, *args).result()

    def _loopback(self, up: bool) -> None:
        """``ip link set lo up|down`` inside the namespace (SIOCSIFFLAGS, no iproute2)."""
        import fcntl
        import struct

        def switch() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                request = struct.pack("16sh", b"lo", 0)
                flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, request))[1]  # SIOCGIFFLAGS
                flags = flags | 0x1 if up else flags & ~0x1  # IFF_UP
                fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags))  # SIOCSIFFLAGS

        self.run(switch)

    def blackhole(self) -> None:
        self._loopback(False)

    def restore(self) -> None:
        self._loopback(True)

    def close(self) -> None:
        import os

        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class BlackHoleLink:
    """A link to ``target`` reachable only from inside a :class:`PrivateNetwork`: connect to
    127.0.0.1:``port`` from its threads. :meth:`blackhole` makes the link drop every packet
    (established connections hang rather than fail); :meth:`restore` brings it back."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.net = PrivateNetwork()
        listener = self.net.run(socket.create_server, ("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._open: list[socket.socket] = []
        # Created here, outside the namespace: the accepting thread reaches the real server.
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def to(cls, url: str) -> tuple[BlackHoleLink, str]:
        u = make_url(url)
        link = cls(u.host or "127.0.0.1", u.port or 5432)
        through = u.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
        return link, through

    def executor(self, workers: int = 4) -> Any:
        return self.net.executor(workers)

    def blackhole(self) -> None:
        self.net.blackhole()

    def restore(self) -> None:
        self.net.restore()

    def close(self) -> None:
        with suppress(OSError):
            self._listener.close()
        for s in self._open:
            with suppress(OSError):
                s.close()
        self.net.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=CuttableLink._pipe, args=(a, b), daemon=True).start()
