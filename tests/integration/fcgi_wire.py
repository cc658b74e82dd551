"""fcgi_wire.py: a minimal FastCGI client for tests that talk to the pool
socket directly, without nginx: records, name-value pairs, one request
(with or without FCGI_KEEP_CONN) and reading its answer."""
import socket
import struct

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
RESPONDER = 1
KEEP_CONN = 1


def record(kind, content=b"", request_id=1):
    padding = (-len(content)) % 8
    return (struct.pack(">BBHHBB", 1, kind, request_id, len(content), padding, 0) +
            content + b"\0" * padding)


def name_value(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def cgi_params(method, uri, body=b"", content_type=None):
    path, _, query = uri.partition("?")
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "SCRIPT_NAME": "",
              "DOCUMENT_URI": path, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
              "HTTP_HOST": "localhost", "CONTENT_LENGTH": str(len(body))}
    if content_type:
        params["CONTENT_TYPE"] = content_type
    return params


def request_bytes(params, body=b"", keep=True, pad_params_to=None):
    """The records of one request. pad_params_to: grow the params so
    that the records before the end-of-stdin record come to that many
    bytes (with the body), to put that record at a chosen offset."""
    begin = record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
    def stdin_records():
        return b"".join(record(STDIN, body[i:i + 32768]) for i in range(0, len(body), 32768))
    def params_records(extra):
        pairs = dict(params)
        if extra:
            pairs["HTTP_X_PADDING"] = "p" * extra
        encoded = b"".join(name_value(k, v) for k, v in pairs.items())
        return record(PARAMS, encoded) + record(PARAMS)
    head = begin + params_records(0) + stdin_records()
    if pad_params_to is not None:
        extra = 200
        while True:
            head = begin + params_records(extra) + stdin_records()
            if len(head) >= pad_params_to:
                break
            extra += 8 if pad_params_to - len(head) >= 8 else 1
        if len(head) != pad_params_to:
            raise ValueError("cannot place the record at %d (got %d)" % (pad_params_to, len(head)))
    return head + record(STDIN)


def read_answer(sock, timeout=10):
    """(status line's code or None, stdout bytes, "END" or "EOF")."""
    sock.settimeout(timeout)
    pending, stdout = b"", b""
    def need(n):
        nonlocal pending
        while len(pending) < n:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            pending += chunk
        return True
    while True:
        if not need(8):
            return None, stdout, "EOF"
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", pending[:8])
        if not need(8 + length + padding):
            return None, stdout, "EOF"
        content = pending[8:8 + length]
        pending = pending[8 + length + padding:]
        if kind == STDOUT:
            stdout += content
        elif kind == END_REQUEST:
            status = 200
            for line in stdout.split(b"\r\n\r\n")[0].split(b"\r\n"):
                if line.lower().startswith(b"status:"):
                    status = int(line.split()[1])
            return status, stdout, "END"


def connect(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    return sock
