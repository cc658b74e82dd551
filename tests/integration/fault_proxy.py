"""fault_proxy.py: an HTTP proxy on loopback that forwards to one
upstream (the S3-compatible server) and fails chosen requests, so tests
can make storage break half way through a batch or refuse deletes.

    proxy = FaultProxy(upstream_port)
    proxy.fail(method="PUT", after=4)   # the 5th PUT from now on answers 500
    proxy.fail(method="DELETE")         # every DELETE answers 500
    proxy.fail("PUT", header="x-amz-copy-source")  # every server-side copy
    proxy.delay("PUT", 2, header="x-amz-copy-source")  # held for 2 s
    proxy.clear()
"""
import http.client
import http.server
import threading
import time


class FaultProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.rules = []
        self.delays = []
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                names = [k.lower() for k in self.headers.keys()]
                time.sleep(proxy.delay_for(self.command, names))
                if proxy.should_fail(self.command, names):
                    payload = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
                               b"<Code>InternalError</Code><Message>injected</Message>"
                               b"</Error>")
                    self.send_response(500)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "expect")}
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except OSError:
                    # The server is down: so is the proxy, to the client.
                    conn.close()
                    self.close_connection = True
                    return
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding",
                                           "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up first (a timeout under test).
                    self.close_connection = True

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def should_fail(self, method, headers=()):
        with self.lock:
            self.seen.append(method)
            for rule in self.rules:
                if rule["method"] != method or (
                        rule["header"] and rule["header"] not in headers):
                    continue
                if rule["after"] > 0:
                    rule["after"] -= 1
                    return False
                return True
            return False

    def delay_for(self, method, headers):
        with self.lock:
            for rule in self.delays:
                if rule["method"] == method and (
                        not rule["header"] or rule["header"] in headers):
                    return rule["seconds"]
            return 0

    def delay(self, method, seconds, header=None):
        """Holds requests of method (carrying header) for seconds."""
        with self.lock:
            self.delays.append({"method": method, "seconds": seconds, "header": header})

    def fail(self, method, after=0, header=None):
        """Fails requests of method (only those carrying header, lower
        case, when given) from the (after+1)th on."""
        with self.lock:
            self.rules.append({"method": method, "after": after, "header": header})

    def clear(self):
        with self.lock:
            self.rules = []
            self.delays = []
            self.seen = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()
