"""A minimal stand-in for a Jupyter server, for benchmarks that measure the hub rather than Jupyter. It starts in
~20 ms and uses ~10 MB (RSS, ~5 MB of it its own), listens at once and answers GET <base_url>api/status with 200
and Jupyter's JSON (what Ganymede's readiness check asks) and GET <base_url>api with Jupyter's version JSON (what
JupyterHub's readiness check asks).

Where it listens, and under which base URL, it takes the way either hub gives them:
- Ganymede's local spawner passes jupyter-server options: --ServerApp.sock=… (or --ServerApp.ip/port=…) and
  --ServerApp.base_url=….
- JupyterHub (2.0 and later) passes no options but environment variables: JUPYTERHUB_SERVICE_URL
  (http://127.0.0.1:<port>/user/<name>/) and JUPYTERHUB_SERVICE_PREFIX (/user/<name>/). JupyterHub's readiness
  check accepts any answer below 500 and logs a warning per spawn when the answer lacks X-JupyterHub-Version, which
  the stand-in sends when STAND_IN_JUPYTERHUB_VERSION is set (jupyterhub-singleuser sends its own version).
Options it does not know (e.g. --allow-root) are ignored. SIGINT and SIGTERM end it at once with exit code 0."""
import os
import signal
import socketserver
import sys
import time
from urllib.parse import urlsplit

opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
service_url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
base = opts.get("ServerApp.base_url") or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or service_url.path or "/"
STATUS = b'{"connections": 0, "kernels": 0, "last_activity": "2026-01-01T00:00:00Z", "started": "2026-01-01T00:00:00Z"}'
BODIES = {base + "api/status": STATUS, base + "api": b'{"version": "2.0.0"}'}
hub_version = os.environ.get("STAND_IN_JUPYTERHUB_VERSION")
EXTRA = f"X-JupyterHub-Version: {hub_version}\r\n".encode() if hub_version else b""


class Handler(socketserver.StreamRequestHandler):
    """HTTP/1.1 with keep-alive, GET only: just what the hubs ask. (http.server would double the memory: it imports
    email, http.client and ssl.)"""

    def handle(self):
        while True:
            request = self.rfile.readline(65537).split()
            if not request:
                return
            headers = {}
            while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            self.rfile.read(int(headers.get("content-length", 0)))
            body = BODIES.get(request[1].decode("latin-1").split("?")[0]) if request[0] == b"GET" and len(request) > 1 else None
            status = b"200 OK" if body is not None else b"404 Not Found"
            body = body if body is not None else b"{}"
            close = headers.get("connection", "").lower() == "close" or request[-1] == b"HTTP/1.0"
            self.wfile.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\n" + EXTRA + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body
            )
            if close:
                return


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: os._exit(0))

if "ServerApp.sock" in opts:
    path = opts["ServerApp.sock"]
    if os.path.exists(path):
        os.unlink(path)
    server = UnixServer(path, Handler)
    os.chmod(path, 0o600)
elif "ServerApp.port" in opts:
    server = TcpServer((opts.get("ServerApp.ip", "127.0.0.1"), int(opts["ServerApp.port"])), Handler)
else:
    server = TcpServer((service_url.hostname or "127.0.0.1", service_url.port), Handler)
# When it listens, to the millisecond (in the server's log): benchmarks time a spawner's start up to this line.
print(f"stand-in listening at {time.time():.6f}", flush=True)
server.serve_forever()
