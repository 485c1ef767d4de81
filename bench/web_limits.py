"""How fast does a real server refuse a huge chunked body, and does /healthz suffer meanwhile?

Starts the web app with uvicorn on a free 127.0.0.1 port (temporary SQLite store), opens the
login page like a browser (pre-session cookie and CSRF token), then streams a chunked body of
``--megabytes`` to POST /login while another thread times GET /healthz. Prints the time until
the 413 arrived, how much the client managed to send before the server closed the connection
(socket buffers included), and /healthz latencies before and during the upload. Asserts nothing.

    .venv/bin/python bench/web_limits.py
    .venv/bin/python bench/web_limits.py --megabytes 200 --chunk-kib 64
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from signaal.settings import load_settings
from signaal.store.db import upgrade
from signaal.web.app import create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthz_ms(port: int) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/healthz")
    conn.getresponse().read()
    conn.close()
    return (time.perf_counter() - started) * 1000


def _login_page(port: int) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookies = [
        value.split(";", 1)[0] for key, value in response.getheaders() if key == "set-cookie"
    ]
    conn.close()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    return "; ".join(cookies), token.group(1)


def _upload(port: int, cookie: str, megabytes: int, chunk: int) -> tuple[float, int, int | None]:
    """(seconds until the answer or the close, bytes sent, status or None)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = (
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    payload = b"a" * chunk
    frame = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
    total = megabytes * 1024 * 1024
    sent = 0
    started = time.perf_counter()
    status: int | None = None
    try:
        sock.sendall(head)
        while sent < total:
            sock.sendall(frame)
            sent += len(payload)
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection: what we want
    try:
        sock.settimeout(10)
        first = sock.recv(200)
        match = re.match(rb"HTTP/1\.1 (\d{3})", first)
        status = int(match.group(1)) if match else None
    except OSError:
        status = None
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed, sent, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--chunk-kib", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{(Path(folder) / 'signaal.db').as_posix()}"
        upgrade(url)
        settings = load_settings(env="development", database_url=url, data_dir=Path(folder))
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)

        baseline = [_healthz_ms(port) for _ in range(20)]
        cookie, _token = _login_page(port)

        during: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                during.append(_healthz_ms(port))

        prober = threading.Thread(target=probe)
        prober.start()
        elapsed, sent, status = _upload(port, cookie, args.megabytes, args.chunk_kib * 1024)
        time.sleep(0.2)
        done.set()
        prober.join()
        server.should_exit = True
        thread.join(timeout=10)

    print(f"chunked body offered: {args.megabytes} MB in {args.chunk_kib} KiB chunks")
    print(f"answer: {status} after {elapsed * 1000:.0f} ms")
    print(f"client sent before the server closed: {sent / 1024 / 1024:.2f} MB (socket buffers too)")
    print(
        f"/healthz before: median {statistics.median(baseline):.1f} ms, "
        f"max {max(baseline):.1f} ms ({len(baseline)} requests)"
    )
    if during:
        print(
            f"/healthz during: median {statistics.median(during):.1f} ms, "
            f"max {max(during):.1f} ms ({len(during)} requests)"
        )


if __name__ == "__main__":
    main()
