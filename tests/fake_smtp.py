"""A minimal SMTP server for tests (reminders, watchlist alerts): enough of RFC 5321 for smtplib
to hand over messages, on a free 127.0.0.1 port, in a thread. ``refuse`` makes it refuse every
sender (smtplib raises an SMTPException), so that a test can make a mail fail and be retried."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: SmtpServer = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 fake ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 fake\r\n")
            elif verb == "MAIL" and server.refuse:
                self.wfile.write(b"550 not today\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                server.messages.append(data.decode())
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    messages: list[str]
    refuse: bool = False

    @property
    def host_and_port(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(("127.0.0.1", 0), SmtpHandler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
