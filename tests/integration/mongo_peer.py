"""mongo_peer.py: a scripted MongoDB peer (Debian's python3-mockupdb) for wire-level tests.

The mongo backend (libmongoc 1.23) is pointed at a MockupDB server on loopback.
MongoPeer answers the driver's connection handshake (OP_QUERY isMaster, later
hello) and the background commands named in `auto` by itself, in mockupdb's
connection threads; every other command waits in a queue until the test takes
it with expect()/receive()/hangup() and replies to it.

    import harness
    from mongo_peer import MongoPeer, background, cursor_reply, ANY, NOT_PRIMARY
    from bson import ObjectId

    with MongoPeer() as peer:                     # started; stopped on exit
        stack = harness.Stack(config=peer.config(), name="mongo").start()
        try:
            pending = background(stack.get, "/images/%s" % oid)  # blocks on the peer
            peer.expect("find", "images", filter={"_id": oid}, limit=1,
                        reply=cursor_reply([{"_id": oid, "title": "x"}], "images"))
            harness.expect_status(pending.result(), 200)

            pending = background(stack.post, "/images", body={...})
            peer.expect("insert", "images", documents=[{"_id": ObjectId, "title": "x"}],
                        error=NOT_PRIMARY)        # -> a 503 from the service
            harness.expect_status(pending.result(), 503)

            pending = background(stack.get, "/image_groups")
            peer.hangup("find", "image_groups", times=2)  # reads are retried once
            harness.expect_status(pending.result(), 503)
        finally:
            stack.stop(); stack.cleanup()

Matching (expect/receive/hangup): the command name is compared case-
insensitively; `collection` is compared with the command's first value (the
collection name; for getMore it is the cursor id). Each keyword field must be
in the command and equal to the given value; fields not named (lsid, $db,
txnNumber, $readPreference, ...) are ignored. Inside values:
  - ANY matches anything, ABSENT requires the key to be missing;
  - a class (ObjectId, datetime.datetime, int) matches any instance of it;
  - another callable is a predicate: lambda v: v > 0;
  - mappings match key by key, order-insensitively, except under a key named
    "sort" or "key" (sort specs, index keys), where the key order must match;
    extra keys in the actual document fail the match;
  - lists match element by element with the same length;
  - datetimes match to the millisecond (BSON dates are milliseconds, naive UTC).

Commands the service sends on its own schedule (the worker's periodic sweep
of expired uploads) can be answered in the background by shape, so that they
never take the place of a scripted command: auto_answer("aggregate", "images",
reply=..., pipeline=[...]) matches like expect() and answers every matching
command from then on; other commands of that name still queue.

Replies: reply= a document ("ok": 1 is added), error= (code, errmsg) or a dict
with code/errmsg[/codeName/errorLabels] (sent with "ok": 0). Without either,
{"ok": 1} is sent. A duplicate key on insert/update/delete is a write error
inside an ok:1 reply: use duplicate_key_reply(); on findAndModify it is a
command error: error=DUPLICATE_KEY.

mockupdb is packaged for Debian's own python3 (/usr/bin/python3). If the
running interpreter cannot import it (e.g. a pyenv python3 first in PATH),
ensure_mockupdb() re-executes the test script under /usr/bin/python3.
Only the standard library and mockupdb (with its bson) are used.
"""
import datetime
import os
import sys
import threading
import time

try:
    import mockupdb
    import bson
    MOCKUPDB_ERROR = None
except Exception as exc:  # ImportError, or a broken mix of site-packages
    mockupdb = bson = None
    MOCKUPDB_ERROR = "%s: %s" % (type(exc).__name__, exc)

SYSTEM_PYTHON = "/usr/bin/python3"
_REEXEC_FLAG = "BANDPICS_MONGO_PEER_REEXEC"


def ensure_mockupdb(skip_if_missing=False):
    """Make mockupdb importable or leave: call it first thing in a test script.

    Re-executes the script under Debian's python3 when this interpreter lacks
    mockupdb. Otherwise prints a TAP "Bail out!" (or, with skip_if_missing,
    a whole-file "1..0 # SKIP") and exits.
    """
    if MOCKUPDB_ERROR is None:
        return
    here = os.path.realpath(sys.executable or "")
    if (not os.environ.get(_REEXEC_FLAG) and os.path.exists(SYSTEM_PYTHON)
            and os.path.realpath(SYSTEM_PYTHON) != here):
        sys.stdout.flush()
        sys.stderr.flush()
        env = dict(os.environ)
        env[_REEXEC_FLAG] = "1"
        os.execve(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv, env)
    reason = "python3-mockupdb is not importable (%s); apt-get install python3-mockupdb" % (
        MOCKUPDB_ERROR,)
    if skip_if_missing:
        print("1..0 # SKIP " + reason, flush=True)
        sys.exit(0)
    print("Bail out! " + reason, flush=True)
    sys.exit(1)


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


ANY = _Sentinel("ANY")
ABSENT = _Sentinel("ABSENT")

NOT_PRIMARY = {"code": 10107, "codeName": "NotWritablePrimary", "errmsg": "not primary"}
DUPLICATE_KEY = {"code": 11000, "codeName": "DuplicateKey",
                 "errmsg": "E11000 duplicate key error"}
# The commands the driver sends to open and monitor a connection.
HANDSHAKE = ("ismaster", "hello")
# Answered with {"ok": 1} in the background unless the test says otherwise.
DEFAULT_AUTO = ("ping", "endSessions", "createIndexes")


def cursor_reply(docs, collection, db="bandpics", cursor_id=0):
    """A find/aggregate reply with one batch; cursor_id 0 means no getMore follows."""
    return {"cursor": {"id": bson.int64.Int64(cursor_id) if bson else cursor_id,
                       "ns": "%s.%s" % (db, collection), "firstBatch": list(docs)}}


def get_more_reply(docs, collection, db="bandpics", cursor_id=0):
    return {"cursor": {"id": bson.int64.Int64(cursor_id) if bson else cursor_id,
                       "ns": "%s.%s" % (db, collection), "nextBatch": list(docs)}}


def find_and_modify_reply(value, updated=True, upserted=None):
    """findAndModify: value is the returned document (None when nothing matched)."""
    last = {"n": 1 if value is not None else 0, "updatedExisting": bool(updated and value)}
    if upserted is not None:
        last["upserted"] = upserted
    return {"value": value, "lastErrorObject": last}


def duplicate_key_reply(index=0, key=None, collection="images", db="bandpics", n=0):
    """An insert/update reply carrying one duplicate-key write error (ok: 1)."""
    msg = "E11000 duplicate key error collection: %s.%s index: _id_ dup key: %s" % (
        db, collection, _show(key) if key is not None else "{ _id: ... }")
    err = {"index": index, "code": 11000, "errmsg": msg}
    if key is not None:
        err["keyValue"] = key
    return {"n": n, "writeErrors": [err]}


def _command_name(request):
    return getattr(request, "command_name", None) or ""


def _same(expected, actual, path, ordered=False):
    """None when actual matches expected, else a description of the first difference."""
    if expected is ANY:
        return None
    if isinstance(expected, type):
        if isinstance(actual, expected) and not (expected is int and isinstance(actual, bool)):
            return None
        return "%s: expected a %s, got %r" % (path, expected.__name__, actual)
    if callable(expected) and not isinstance(expected, (dict, list, tuple)):
        try:
            if expected(actual):
                return None
        except Exception as exc:  # a predicate that raises is a mismatch
            return "%s: predicate raised %r on %r" % (path, exc, actual)
        return "%s: predicate failed on %r" % (path, actual)
    if isinstance(expected, dict):
        if not hasattr(actual, "items"):
            return "%s: expected a document, got %r" % (path, actual)
        want = [k for k, v in expected.items() if v is not ABSENT]
        for key, val in expected.items():
            if val is ABSENT:
                if key in actual:
                    return "%s.%s: expected absent, got %r" % (path, key, actual[key])
                continue
            if key not in actual:
                return "%s.%s: missing" % (path, key)
            diff = _same(val, actual[key], "%s.%s" % (path, key), key in ("sort", "key"))
            if diff:
                return diff
        extra = [k for k in actual if k not in expected]
        if extra:
            return "%s: unexpected keys %r" % (path, extra)
        if ordered and list(actual) != want:
            return "%s: key order %r, expected %r" % (path, list(actual), want)
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            return "%s: expected a list, got %r" % (path, actual)
        if len(expected) != len(actual):
            return "%s: expected %d items, got %d: %r" % (path, len(expected), len(actual),
                                                          actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = _same(e, a, "%s[%d]" % (path, i))
            if diff:
                return diff
        return None
    if isinstance(expected, datetime.datetime) and isinstance(actual, datetime.datetime):
        def ms(d):
            if d.tzinfo is not None:
                d = d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return d.replace(microsecond=d.microsecond // 1000 * 1000)
        return None if ms(expected) == ms(actual) else "%s: expected %r, got %r" % (
            path, expected, actual)
    if isinstance(expected, bool) != isinstance(actual, bool) or expected != actual:
        return "%s: expected %r, got %r" % (path, expected, actual)
    return None


def _command_diffs(doc, name, collection, fields):
    """The differences between a command and what receive() expects of it."""
    diffs = []
    if collection is not None:
        diff = _same(collection, doc.get(name) if name else None, name)
        if diff:
            diffs.append(diff)
    for key, val in fields.items():
        if val is ABSENT:
            if key in doc:
                diffs.append("%s: expected absent" % key)
            continue
        if key not in doc:
            diffs.append("%s: missing" % key)
            continue
        diff = _same(val, doc[key], key, key in ("sort", "key"))
        if diff:
            diffs.append(diff)
    return diffs


def _show(doc):
    try:
        return bson.json_util.dumps(doc)
    except Exception:
        return repr(doc)


class Received:
    """One command taken from the queue; answer it exactly once."""

    def __init__(self, request):
        self.request = request
        self.doc = request.doc
        self.name = _command_name(request)
        self.collection = self.doc.get(self.name) if self.name else None
        self.answered = False

    def __getitem__(self, key):
        return self.doc[key]

    def __contains__(self, key):
        return key in self.doc

    def _done(self):
        if self.answered:
            raise AssertionError("%s already answered" % self.name)
        self.answered = True

    def reply(self, doc=None, **fields):
        self._done()
        body = dict(doc or {})
        body.update(fields)
        body.setdefault("ok", 1)
        self.request.replies(body)

    def error(self, code, errmsg="MongoPeer error", codeName=None, **extra):
        self._done()
        body = {"ok": 0, "code": code, "errmsg": errmsg}
        if codeName:
            body["codeName"] = codeName
        body.update(extra)
        self.request.replies(body)

    def answer(self, reply=None, error=None):
        if error is not None:
            if isinstance(error, dict):
                fields = dict(error)
                self.error(fields.pop("code"), fields.pop("errmsg", "MongoPeer error"),
                           **fields)
            else:
                self.error(*error)
        else:
            self.reply(reply)

    def hangup(self):
        """Close the connection without a reply: the driver sees a network error."""
        self._done()
        self.request.hangup()

    def __repr__(self):
        return "<Received %s>" % _show(self.doc)


class MongoPeer:
    """A MockupDB that does the handshake itself; the test scripts the rest.

    db: the database name the URL names. max_wire_version: what the handshake
    reports (17 = MongoDB 6.0; libmongoc 1.23 needs at least 6). auto: command
    names answered {"ok": 1} in the background (change with auto_reply() and
    manual()). timeout: default seconds expect()/receive() wait. replica_set:
    a set name to report as an RS primary (the driver then adds txnNumber to
    writes and $readPreference to reads); None reports a standalone.
    """

    def __init__(self, db="bandpics", max_wire_version=17, auto=DEFAULT_AUTO, timeout=10.0,
                 verbose=False, replica_set=None, server_selection_timeout_ms=2000):
        if mockupdb is None:
            raise RuntimeError("mockupdb unavailable: %s (call ensure_mockupdb() first)"
                               % MOCKUPDB_ERROR)
        self.db = db
        self.max_wire_version = max_wire_version
        self.timeout = timeout
        self.replica_set = replica_set
        self.server_selection_timeout_ms = server_selection_timeout_ms
        self._lock = threading.Lock()
        self._auto = {name.lower(): ({}, None) for name in auto}
        self._answers = []     # (name, collection, fields, reply, error): auto_answer()
        self._down = False
        self._connection_id = 0
        self.log = []          # every command received, as (name, doc), auto-answered included
        self.handshakes = 0    # connections opened (handshakes carrying client metadata)
        self.server = mockupdb.MockupDB(port=None, verbose=verbose, request_timeout=timeout)
        self.server.label = "#"  # verbose lines become TAP comments
        self.server.autoresponds(self._background)
        self.port = None

    # -- life cycle
    def start(self):
        self.port = self.server.run()
        return self

    def stop(self):
        if self.port is not None and self.server.running:
            self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        """The database_url for the service (the URL names the database)."""
        return "mongodb://%s/%s?serverSelectionTimeoutMS=%d" % (
            self.address, self.db, self.server_selection_timeout_ms)

    def config(self, **extra):
        """A harness.Stack config pointing the service at this peer; the
        selection timeout goes in mongo_timeout_ms (a URI option would win
        over it), so a test can change it with mongo_timeout_ms=..."""
        settings = {"database_url": "mongodb://%s/%s" % (self.address, self.db),
                    "mongo_timeout_ms": self.server_selection_timeout_ms}
        settings.update(extra)
        return settings

    # -- background answers (run in mockupdb's connection threads)
    def _hello_reply(self):
        self._connection_id += 1
        doc = {"ismaster": True, "isWritablePrimary": True, "helloOk": True,
               "minWireVersion": 0, "maxWireVersion": self.max_wire_version,
               "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48000000,
               "maxWriteBatchSize": 100000, "localTime": datetime.datetime.utcnow(),
               "logicalSessionTimeoutMinutes": 30, "connectionId": self._connection_id,
               "ok": 1}
        if self.replica_set:
            doc.update(setName=self.replica_set, hosts=[self.address], me=self.address,
                       secondary=False, primary=self.address)
        return doc

    def _background(self, request):
        name = _command_name(request)
        lname = name.lower()
        with self._lock:
            self.log.append((name, request.doc if len(request.docs) == 1 else request.docs))
            if self._down:
                request.hangup()
                return True
            if lname in HANDSHAKE:
                if "client" in request.doc:
                    self.handshakes += 1
                return request.replies(self._hello_reply())
            if lname in self._auto:
                reply, error = self._auto[lname]
                if error is not None:
                    body = {"ok": 0}
                    body.update(error)
                else:
                    body = dict(reply)
                    body.setdefault("ok", 1)
                return request.replies(body)
            for name_, collection, fields, reply, error in self._answers:
                if (lname == name_ and
                        not _command_diffs(request.doc, name, collection, fields)):
                    body = {"ok": 0} if error is not None else {"ok": 1}
                    body.update(error if error is not None else reply or {})
                    return request.replies(body)
        return False  # queued for the test

    def auto_reply(self, command, reply=None, error=None):
        """Answer every `command` in the background from now on."""
        if isinstance(error, tuple):
            error = {"code": error[0], "errmsg": error[1]}
        with self._lock:
            self._auto[command.lower()] = (dict(reply or {}), error)

    def auto_answer(self, command, collection=None, reply=None, error=None, **fields):
        """Answer in the background, from now on, every `command` that matches
        collection and fields as expect() would match it; others still queue."""
        if isinstance(error, tuple):
            error = {"code": error[0], "errmsg": error[1]}
        with self._lock:
            self._answers.append((command.lower(), collection, dict(fields),
                                  dict(reply or {}), error))

    def manual(self, command):
        """Queue `command` for expect() from now on instead of answering it."""
        with self._lock:
            self._auto.pop(command.lower(), None)

    def set_down(self, down=True):
        """While down, every request (handshakes included) is answered by a hangup."""
        with self._lock:
            self._down = down

    # -- scripted commands
    def receive(self, command, collection=None, timeout=None, **fields):
        """Take the next queued command, assert it matches, and return it unanswered."""
        wait = self.timeout if timeout is None else timeout
        try:
            request = self.server.receives(timeout=wait)
        except AssertionError:
            raise AssertionError("expected %s within %.1fs, got nothing (last seen: %s)" % (
                command, wait, [n for n, _ in self.log[-8:]])) from None
        if request is None:
            raise AssertionError("peer stopped while waiting for %s" % command)
        got = Received(request)
        if got.name.lower() != command.lower():
            got.request.replies({"ok": 0, "code": 8000, "errmsg": "unexpected command"})
            raise AssertionError("expected %s, got %s" % (command, _show(got.doc)))
        diffs = _command_diffs(got.doc, got.name, collection, fields)
        if diffs:
            got.request.replies({"ok": 0, "code": 8000, "errmsg": "unexpected command"})
            raise AssertionError("%s does not match: %s\ncommand: %s" % (
                command, "; ".join(diffs), _show(got.doc)))
        return got

    def expect(self, command, collection=None, reply=None, error=None, timeout=None,
               **fields):
        """receive() then answer with reply (a document) or error; returns the command."""
        got = self.receive(command, collection, timeout=timeout, **fields)
        got.answer(reply, error)
        return got.doc

    def hangup(self, command, collection=None, times=1, timeout=None, **fields):
        """receive() `times` matching commands and close each connection unanswered.

        Against a standalone, libmongoc 1.23 retries a read (find, aggregate,
        ...) once on a new connection after a network error and does not retry
        writes: times=2 makes a read fail, times=1 a write.
        """
        docs = []
        for _ in range(times):
            got = self.receive(command, collection, timeout=timeout, **fields)
            got.hangup()
            docs.append(got.doc)
        return docs

    def assert_quiet(self, seconds=0.3):
        """Assert that no command is queued within `seconds`."""
        if not self.server.got(timeout=seconds):
            return
        request = self.server.receives(timeout=0)
        request.replies({"ok": 0, "code": 8000, "errmsg": "unexpected command"})
        raise AssertionError("unexpected command %s" % _show(request.doc))

    def seen(self, command=None):
        """Documents received so far (auto-answered ones included), by name."""
        with self._lock:
            return [doc for name, doc in self.log
                    if command is None or name.lower() == command.lower()]

    def wait_seen(self, command, count=1, timeout=None):
        """Wait until `count` commands named `command` were received; return them."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            docs = self.seen(command)
            if len(docs) >= count:
                return docs
            if time.monotonic() > deadline:
                raise AssertionError("saw %d %s within %.1fs, expected %d" % (
                    len(docs), command, wait, count))
            time.sleep(0.02)


class background:
    """Run fn(*args, **kw) in a thread (e.g. an HTTP request the peer must answer).

    result(timeout) waits for it and returns its value or re-raises its error.
    """

    def __init__(self, fn, *args, **kw):
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kw), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kw):
        try:
            self._value = fn(*args, **kw)
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self, timeout=30):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("background call still running after %ss" % timeout)
        if self._error is not None:
            raise self._error
        return self._value
