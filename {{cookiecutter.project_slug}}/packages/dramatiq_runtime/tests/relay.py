"""A TCP relay a test puts between a client and a server: the server cut off (a database
outage), or swapped behind one address (a managed Redis's failover)."""

import contextlib
import socket
import threading


class Relay:
    """Forwards each connection to ``target``; ``shut`` cuts them all and refuses new ones,
    ``switch`` sends new ones elsewhere while those already made stay where they were."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def switch(self, target: tuple[str, int]) -> None:
        self.target = target

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def shut(self) -> None:
        """Every connection cut, every new one closed at once."""
        self.open = False
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        self.sockets.clear()

    def close(self) -> None:
        self.shut()
        self.listener.close()
