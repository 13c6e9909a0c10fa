"""A minimal stand-in for a Jupyter server, for benchmarks that measure the hub rather than Jupyter: it takes the
options a spawner gives jupyter-server (--ServerApp.sock=… or --ServerApp.port=…, --ServerApp.base_url=…), listens
at once, and answers GET <base_url>api/status with 200 and Jupyter's JSON. It starts in ~20 ms and uses ~10 MB."""
import http.server
import json
import os
import socketserver
import sys

opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
base = opts.get("ServerApp.base_url", "/")
STATUS = json.dumps({"connections": 0, "kernels": 0, "last_activity": "2026-01-01T00:00:00Z", "started": "2026-01-01T00:00:00Z"}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        ok = self.path.split("?")[0] == base + "api/status"
        body = STATUS if ok else b"{}"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return "local"

    def log_message(self, *args):
        pass


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


class TcpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if "ServerApp.sock" in opts:
    path = opts["ServerApp.sock"]
    if os.path.exists(path):
        os.unlink(path)
    server = UnixServer(path, Handler)
    os.chmod(path, 0o600)
else:
    server = TcpServer((opts.get("ServerApp.ip", "127.0.0.1"), int(opts["ServerApp.port"])), Handler)
# When it listens, to the millisecond (in the server's log): benchmarks time a spawner's start up to this line.
print(f"stand-in listening at {__import__('time').time():.6f}", flush=True)
server.serve_forever()
