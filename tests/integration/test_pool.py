"""test_pool.py: the worker pool's life cycle through a real nginx.

Persistence across a restart, concurrent writes over two workers, the
connections nginx keeps to the workers, reload on SIGHUP without a
failed request (and with the new configuration),
replacement of a killed worker and of a worker past its request quota,
and a clean stop.
"""
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import fcgi_wire
from harness import BIN, Stack, expect, expect_error, expect_status, main, wait_until
from images import make_image, multipart


def with_stack(config=None, workers=2):
    def wrap(test):
        def run():
            stack = Stack(config=config, workers=workers, name=test.__name__).start()
            try:
                test(stack)
                stack.stop()
                stack.check_sanitizers()
            finally:
                stack.stop()
                stack.cleanup()
        run.__name__ = test.__name__
        return run
    return wrap


@with_stack()
def test_data_survives_a_pool_restart(stack):
    g = stack.post("/image_groups", {"name": "Persistent"}).json
    expect(stack.stop_pool() == 0, "pool exit status")
    expect(not os.path.exists(stack.socket), "socket left behind")
    expect_error(stack.get("/image_groups/" + g["id"]), 503)
    stack.start_pool()
    got = stack.get("/image_groups/" + g["id"])
    expect_status(got, 200)
    expect(got.json["name"] == "Persistent")


@with_stack()
def test_200_concurrent_creates_all_persisted(stack):
    def create(i):
        return stack.post("/image_groups", {"name": "c%03d" % i})

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(create, range(200)))
    bad = [r for r in responses if r.status != 201]
    expect(not bad, "%d failed, first %r" % (len(bad), bad[:1]))
    ids = {r.json["id"] for r in responses}
    expect(len(ids) == 200, "ids not unique")
    listed = stack.get("/image_groups?limit=500")
    expect(listed.header("x-total-count") == "200")
    expect({g["id"] for g in listed.json} == ids)
    expect(sorted(g["name"] for g in listed.json) == ["c%03d" % i for i in range(200)])


@with_stack()
def test_sighup_reload_without_a_failed_request(stack):
    failures = []
    count = [0]
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            r = stack.post("/image_groups", {"name": "during reload"})
            if r.status != 201:
                failures.append(r)
            r = stack.get("/image_groups?limit=1")
            if r.status != 200:
                failures.append(r)
            count[0] += 2

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            before = stack.worker_pids()
            time.sleep(0.3)
            stack.pool.send_signal(signal.SIGHUP)
            wait_until(lambda: len(stack.worker_pids()) == 2 and
                       not set(stack.worker_pids()) & set(before),
                       what="a new generation of workers")
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    expect(not failures, "%d failed during reload: %r" % (len(failures), failures[:3]))
    expect(count[0] > 50, "too few requests (%d) to prove anything" % count[0])

    # The new workers run the re-read configuration.
    stack.write_config({"max_name_length": 10})
    before = stack.worker_pids()
    stack.pool.send_signal(signal.SIGHUP)
    wait_until(lambda: len(stack.worker_pids()) == 2 and
               not set(stack.worker_pids()) & set(before), what="reloaded workers")
    expect_error(stack.post("/image_groups", {"name": "x" * 11}), 422, "10 characters")
    # A broken configuration is refused and the running one stays.
    with open(stack.config_path, "a") as f:
        f.write("workers = lots\n")
    before = stack.worker_pids()
    stack.pool.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    expect(stack.worker_pids() == before, "workers replaced by a broken config")
    expect_status(stack.post("/image_groups", {"name": "x" * 10}), 201)
    expect("reload refused" in stack.read_logs())
    # So is one that loads but names a store no backend can open.
    stack.write_config({"database_url": "postgres://127.0.0.1/bandpics"})
    stack.pool.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    expect(stack.worker_pids() == before, "workers replaced by an unusable store")
    expect_status(stack.get("/image_groups?limit=1"), 200)


def nice_of(pid):
    """A process's nice value, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def sched_slice_of(pid):
    """The scheduler slice of a process in ns (se.slice in
    /proc/PID/sched), or None where the kernel shows none."""
    try:
        with open("/proc/%d/sched" % pid) as f:
            for line in f:
                if line.split(":")[0].strip() == "se.slice":
                    return int(line.split(":")[1])
    except OSError:
        pass
    return None


def pool_connections(stack):
    """Inodes of the connected (not listening) Unix sockets on the pool's
    socket path, from /proc/net/unix: the connections workers hold."""
    inodes = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.split()
            # Num RefCount Protocol Flags Type St Inode Path; St 03 is
            # connected.
            if len(fields) >= 8 and fields[7] == stack.socket and fields[5] == "03":
                inodes.add(int(fields[6]))
    return inodes


@with_stack()
def test_nginx_keeps_its_connections_to_the_pool(stack):
    """nginx reuses its connections to the workers (upstream keepalive,
    fastcgi_keep_conn): 60 reads in a row travel over a few connections
    that stay open, not one connection each; a reload drains the old
    workers without a failed request once nginx lets their connections
    go."""
    group = stack.post("/image_groups", {"name": "kept"}).json
    seen = set()
    for i in range(60):
        expect_status(stack.get("/image_groups/" + group["id"]), 200)
        held = pool_connections(stack)
        expect(held, "no connection kept open after request %d" % i)
        seen |= held
    # One per nginx worker process, and perhaps one more each for a
    # request that found its kept connection in use.
    expect(len(seen) <= 4, "60 requests used %d connections" % len(seen))
    # The connections are the workers': each is in a worker's fd table.
    worker_sockets = set()
    for pid in stack.worker_pids():
        for fd in os.listdir("/proc/%d/fd" % pid):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if target.startswith("socket:["):
                worker_sockets.add(int(target[8:-1]))
    expect(pool_connections(stack) & worker_sockets, "kept connections not held by workers")
    # Reload: the draining workers hold kept connections; every request
    # during and after the reload is answered.
    before = set(stack.worker_pids())
    stack.pool.send_signal(signal.SIGHUP)
    for _ in range(30):
        expect_status(stack.get("/image_groups/" + group["id"]), 200)
    wait_until(lambda: len(stack.worker_pids()) == 2 and
               not set(stack.worker_pids()) & before, timeout=60,
               what="the draining workers to let go")
    expect_status(stack.get("/image_groups/" + group["id"]), 200)


def dead_pid():
    """The pid of a process that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@with_stack(workers=1, config={"max_requests": 0})
def test_killed_workers_leave_no_temporary_files(stack):
    """Temporary files carry their process's pid (p<pid>-...): a worker
    killed in the middle of an upload leaves files that its replacement
    removes as it starts, whatever their age; so does --gc. Files of live
    processes stay; files named by no process go after an hour."""
    tmp = os.path.join(stack.data_dir, "tmp")
    def names():
        # Files only: a live decoder process keeps its cache directory.
        return {n for n in os.listdir(tmp) if not os.path.isdir(os.path.join(tmp, n))}
    def plant(name, age_s=0):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(b"left behind")
        if age_s:
            past = time.time() - age_s
            os.utime(path, (past, past))
    gone = dead_pid()
    plant("p%d-upload-AbCdEf" % gone)
    plant("p%d-upload-GhIjKl" % os.getpid())
    plant("upload-old", age_s=7200)
    plant("upload-young")
    worker = stack.worker_pids()[0]
    ctype, body = multipart([], [("image", "big.jpg", make_image(4000, 3000, "jpg"),
                                  "image/jpeg")])
    answered = []
    upload = threading.Thread(target=lambda: answered.append(
        stack.post("/images", body, headers={"Content-Type": ctype}, timeout=120)))
    upload.start()
    try:
        wait_until(lambda: any(n.startswith("p%d-" % worker) for n in names()),
                   timeout=60, what="the worker's temporary files")
        os.kill(worker, signal.SIGKILL)
    finally:
        upload.join(timeout=120)
    wait_until(lambda: stack.worker_pids() and worker not in stack.worker_pids(),
               timeout=30, what="a replacement worker")
    wait_until(lambda: not any(n.startswith("p%d-" % worker) for n in names()),
               timeout=30, what="the killed worker's files to go")
    left = names()
    expect("p%d-upload-AbCdEf" % gone not in left, "a dead process's file stayed")
    expect("upload-old" not in left, "an old unowned file stayed")
    expect({"p%d-upload-GhIjKl" % os.getpid(), "upload-young"} <= left,
           "a live process's or a young file was removed: %r" % sorted(left))
    # --gc removes those of processes gone since, and says how many.
    plant("p%d-bp-s3-get-MnOpQr" % dead_pid())
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc"],
                          capture_output=True, text=True, timeout=120, env=stack.env())
    # At least that one: the killed worker's decoder, if it outlived the
    # replacement's sweep, leaves its cache directory to --gc as well.
    removed = re.search(r"(\d+) temporary files left behind removed", proc.stdout)
    expect(proc.returncode == 0 and removed and int(removed.group(1)) >= 1,
           proc.stdout + proc.stderr)
    expect(names() == {"p%d-upload-GhIjKl" % os.getpid(), "upload-young"},
           "after --gc: %r" % sorted(names()))
    expect_status(stack.post("/images", body, headers={"Content-Type": ctype}, timeout=120), 201)


@with_stack(workers=1)
def test_kept_connection_survives_bodies_left_unread(stack):
    """On one kept connection: a 20 KB body the route never reads (405),
    then a JSON body whose end-of-stream record starts exactly where
    libfcgi's 8 KiB read buffer ends; the request after each is answered
    on the same connection."""
    group = stack.post("/image_groups", {"name": "wire"}).json
    sock = fcgi_wire.connect(stack.socket)
    try:
        body = b"x" * 20000
        sock.sendall(fcgi_wire.request_bytes(fcgi_wire.cgi_params("POST", "/", body,
                                                                  "text/plain"), body))
        status, _, how = fcgi_wire.read_answer(sock)
        expect(how == "END" and status == 405, "unread body: %r %r" % (status, how))
        for offset in (8192, 16384):
            patch = json.dumps({"description": "at %d" % offset}).encode()
            params = fcgi_wire.cgi_params("PATCH", "/image_groups/" + group["id"], patch,
                                          "application/json")
            sock.sendall(fcgi_wire.request_bytes(params, patch, pad_params_to=offset))
            status, _, how = fcgi_wire.read_answer(sock)
            expect(how == "END" and status == 200, "record at %d: %r %r" % (offset, status, how))
            sock.sendall(fcgi_wire.request_bytes(fcgi_wire.cgi_params(
                "GET", "/image_groups/" + group["id"])))
            status, out, how = fcgi_wire.read_answer(sock)
            expect(how == "END" and status == 200 and b"at %d" % offset in out,
                   "after the record at %d: %r %r" % (offset, status, how))
    finally:
        sock.close()


@with_stack(workers=1, config={"io_timeout_s": 2})
def test_many_kept_connections_never_block_a_new_one(stack):
    """A worker holds at most 64 kept connections: a 65th is still
    served (and closed after its answer), and kept connections silent for
    io_timeout_s are closed."""
    held = []
    try:
        for _ in range(64):
            sock = fcgi_wire.connect(stack.socket)
            sock.sendall(fcgi_wire.request_bytes(fcgi_wire.cgi_params("GET", "/healthz")))
            status, _, how = fcgi_wire.read_answer(sock)
            expect(how == "END" and status == 200)
            held.append(sock)
        extra = fcgi_wire.connect(stack.socket)
        extra.sendall(fcgi_wire.request_bytes(fcgi_wire.cgi_params("GET", "/healthz")))
        status, _, how = fcgi_wire.read_answer(extra, timeout=30)
        expect(how == "END" and status == 200, "the 65th: %r %r" % (status, how))
        expect(fcgi_wire.read_answer(extra, timeout=30)[2] == "EOF",
               "a connection past the 64 kept was not closed")
        extra.close()
        # Silent ones are let go after io_timeout_s.
        for sock in held:
            expect(fcgi_wire.read_answer(sock, timeout=60)[2] == "EOF",
                   "an idle kept connection stayed open")
        expect_status(stack.get("/healthz"), 200)
    finally:
        for sock in held:
            sock.close()


@with_stack(config={"max_requests": 40})
def test_workers_retiring_under_load_lose_no_request(stack):
    """Workers reach max_requests again and again while four clients
    send writes and reads: a retiring worker serves its kept connections
    until nginx lets them go, so nothing nginx sent is lost."""
    group = stack.post("/image_groups", {"name": "retiring"}).json
    first = set(stack.worker_pids())
    failures, count = [], [0]
    stop = threading.Event()

    def client(n):
        while not stop.is_set():
            for resp in (stack.patch("/image_groups/" + group["id"],
                                     {"description": "client %d" % n}),
                         stack.get("/image_groups/" + group["id"])):
                if resp.status != 200:
                    failures.append(resp)
                count[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: count[0] >= 600, timeout=120, what="600 requests")
    finally:
        stop.set()
        for t in threads:
            t.join()
    expect(not failures, "%d of %d failed: %r" % (len(failures), count[0], failures[:3]))
    wait_until(lambda: len(stack.worker_pids()) == 2 and not first & set(stack.worker_pids()),
               timeout=60, what="the first workers to be replaced")


@with_stack(config={"io_timeout_s": 1})
def test_silent_connections_do_not_pin_workers(stack):
    # Two peers connect to the pool socket and never speak.
    silent = []
    for _ in range(2):
        s = socket.socket(socket.AF_UNIX)
        s.connect(stack.socket)
        silent.append(s)
    try:
        start = time.monotonic()
        expect_status(stack.get("/healthz", timeout=10), 200)
        expect(time.monotonic() - start < 5, "a request waited on silent peers")
    finally:
        for s in silent:
            s.close()


@with_stack()
def test_killed_worker_is_replaced(stack):
    before = stack.worker_pids()
    os.kill(before[0], signal.SIGKILL)
    wait_until(lambda: len(stack.worker_pids()) == 2 and before[0] not in stack.worker_pids(),
               what="a replacement worker")
    expect(before[1] in stack.worker_pids(), "the other worker was disturbed")
    for _ in range(10):
        expect_status(stack.get("/healthz"), 200)


@with_stack(config={"max_requests": 5})
def test_worker_replaced_after_max_requests(stack):
    first = set(stack.worker_pids())
    for i in range(40):
        expect_status(stack.post("/image_groups", {"name": "q%d" % i}), 201)
    wait_until(lambda: len(stack.worker_pids()) == 2, what="two workers")
    expect(not first & set(stack.worker_pids()), "workers were not replaced")
    expect(stack.get("/image_groups").header("x-total-count") == "40")


@with_stack(workers=3)
def test_sigterm_stops_master_and_workers(stack):
    pids = stack.worker_pids()
    expect(len(pids) == 3)
    expect(stack.stop_pool() == 0, "exit status")
    for pid in pids:
        expect(not os.path.exists("/proc/%d" % pid) or
               open("/proc/%d/stat" % pid).read().split()[2] == "Z",
               "worker %d still running" % pid)
    expect("pool stopped" in stack.read_logs())


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@with_stack()
def test_killed_master_takes_its_workers_and_a_restart_serves(stack):
    for i in range(5):
        expect_status(stack.post("/image_groups", {"name": "before %d" % i}), 201)
    workers = stack.worker_pids()
    expect(len(workers) == 2, repr(workers))
    # The OOM killer's way: no chance to clean up.
    os.kill(stack.pool.pid, signal.SIGKILL)
    stack.pool.wait()
    stack.pool = None
    wait_until(lambda: not any(alive(pid) for pid in workers), timeout=30,
               what="the workers of the killed master to end")
    # Started again, as systemd would: it serves, nothing done by hand.
    started = time.monotonic()
    stack.start_pool()
    wait_until(lambda: stack.get("/healthz").status == 200, timeout=30,
               what="the new pool to serve")
    took = time.monotonic() - started
    expect(stack.get("/image_groups").header("x-total-count") == "5", "records lost")
    expect(took < 30, "serving again took %.1f s" % took)


@with_stack()
def test_master_killed_during_uploads_leaves_consistent_data(stack):
    jpeg = make_image(1600, 1200, "jpg")
    created, stop = [], threading.Event()

    def upload_loop():
        while not stop.is_set():
            ctype, body = multipart([], [("image", "live.jpg", jpeg, "image/jpeg")])
            try:
                resp = stack.post("/images", body, headers={"Content-Type": ctype},
                                  timeout=60)
            except OSError:
                continue
            if resp.status == 201:
                created.append(resp.json["id"])

    threads = [threading.Thread(target=upload_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(created) >= 4, timeout=120, what="uploads to go through")
        workers = stack.worker_pids()
        os.kill(stack.pool.pid, signal.SIGKILL)
        stack.pool.wait()
        stack.pool = None
        wait_until(lambda: not any(alive(pid) for pid in workers), timeout=60,
                   what="the workers of the killed master to end")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    started = time.monotonic()
    stack.start_pool()
    wait_until(lambda: stack.get("/healthz").status == 200, timeout=30,
               what="the new pool to serve")
    print("# serving again %.2f s after the restart; %d uploads acknowledged"
          % (time.monotonic() - started, len(created)))
    # Every upload that was answered 201 is there, whole; every record has
    # its three files, and no file lacks its record.
    listed = stack.get("/images?limit=500").json
    ids = {image["id"] for image in listed}
    expect(set(created) <= ids, "acknowledged uploads lost: %r" % (set(created) - ids))
    for image in listed:
        for kind in ("file", "fullsize", "thumb"):
            expect_status(stack.get(image["urls"][kind]), 200)
    files = os.path.join(stack.data_dir, "files")
    for variant in ("original", "fullsize", "thumb"):
        for name in os.listdir(os.path.join(files, variant)):
            expect(name.split(".")[0] in ids, "orphan file %s/%s" % (variant, name))
    gc = subprocess.run([BIN, "--config", stack.config_path, "--gc", "--dry-run",
                         "--grace", "0"], capture_output=True, text=True, timeout=120,
                        env=stack.env())
    expect(gc.returncode == 0 and " 0 orphan," in gc.stdout and "0 repaired, 0 dropped"
           in gc.stdout, gc.stdout + gc.stderr)
    print("# " + gc.stdout.strip().splitlines()[-1])


def request_pids(stack, method, route):
    """The pids that logged a request line for method and route."""
    pids = set()
    for line in stack.read_logs().splitlines():
        if line.startswith("{") and '"type":"request"' in line:
            entry = json.loads(line)
            if entry["method"] == method and entry["route"] == route:
                pids.add(entry["pid"])
    return pids


def test_uploads_have_their_own_workers():
    """With upload_listen, nginx sends requests that carry files to the
    upload workers: with every upload worker stopped (SIGSTOP), reads are
    still answered, and the upload waits until its worker goes on."""
    stack = Stack(name="upload-workers", workers=1, upload_workers=1).start()
    try:
        jpeg = make_image(64, 48, "jpg")
        ctype, body = multipart([], [("image", "a.jpg", jpeg, "image/jpeg")])
        image = stack.post("/images", body, headers={"Content-Type": ctype})
        expect_status(image, 201)
        expect_status(stack.get("/images/" + image.json["id"]), 200)
        wait_until(lambda: request_pids(stack, "GET", "/images/{id}") and
                   request_pids(stack, "POST", "/images"), what="the request lines")
        uploaders = request_pids(stack, "POST", "/images")
        readers = request_pids(stack, "GET", "/images/{id}")
        expect(len(uploaders) == 1 and not uploaders & readers,
               "uploads %r and reads %r on the same workers" % (uploaders, readers))
        upload_pid = uploaders.pop()
        expect(upload_pid in stack.worker_pids(), "the upload worker is not the pool's")
        # Image processing runs nicer than reads (upload_nice, 10).
        expect(nice_of(upload_pid) == nice_of(stack.pool.pid) + 10,
               "upload worker nice %d" % nice_of(upload_pid))
        for reader in readers:
            expect(nice_of(reader) == nice_of(stack.pool.pid), "a read worker is niced")
            # A short scheduler slice where the kernel has them (6.12+).
            slice_ns = sched_slice_of(reader)
            expect(slice_ns in (None, 100000), "read worker slice %r ns" % slice_ns)
        os.kill(upload_pid, signal.SIGSTOP)
        answered = []
        try:
            waiting = threading.Thread(target=lambda: answered.append(
                stack.post("/images", body, headers={"Content-Type": ctype}, timeout=120)))
            waiting.start()
            for _ in range(20):
                expect_status(stack.get("/images/" + image.json["id"]), 200)
                expect_status(stack.get("/image_groups"), 200)
            expect(waiting.is_alive() and not answered,
                   "an upload was answered while every upload worker was stopped")
        finally:
            os.kill(upload_pid, signal.SIGCONT)
        waiting.join(timeout=120)
        expect(answered and answered[0].status == 201, "the held upload: %r" % answered)
        # A reload replaces both kinds.
        before = set(stack.worker_pids())
        stack.pool.send_signal(signal.SIGHUP)
        wait_until(lambda: len(stack.worker_pids()) == 2 and
                   not set(stack.worker_pids()) & before, timeout=60,
                   what="both kinds of worker replaced")
        expect_status(stack.post("/images", body, headers={"Content-Type": ctype}), 201)
        stack.stop()
        stack.check_sanitizers()
    finally:
        stack.stop()
        stack.cleanup()


@with_stack(config={"database_url": "sqlite:///proc/bandpics-nowhere/bandpics.db"})
def test_unreachable_store_is_503_and_named_by_healthz(stack):
    expect_error(stack.get("/healthz"), 503, "store")
    expect(stack.get("/healthz").header("retry-after") == "1")
    expect_error(stack.get("/image_groups"), 503)
    expect_error(stack.post("/image_groups", {"name": "lost"}), 503)
    expect_status(stack.get("/"), 200)


def test_invalid_configuration_stops_start_up():
    stack = Stack(config={"workers": "0"}, name="badconfig")
    try:
        try:
            stack.start_pool()
            raise AssertionError("pool started with workers = 0")
        except AssertionError as e:
            expect("workers: 0 is out of range" in str(e), str(e))
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    main([test_data_survives_a_pool_restart, test_200_concurrent_creates_all_persisted,
          test_sighup_reload_without_a_failed_request, test_killed_worker_is_replaced,
          test_worker_replaced_after_max_requests, test_sigterm_stops_master_and_workers,
          test_killed_master_takes_its_workers_and_a_restart_serves,
          test_silent_connections_do_not_pin_workers,
          test_nginx_keeps_its_connections_to_the_pool,
          test_killed_workers_leave_no_temporary_files,
          test_kept_connection_survives_bodies_left_unread,
          test_many_kept_connections_never_block_a_new_one,
          test_workers_retiring_under_load_lose_no_request,
          test_master_killed_during_uploads_leaves_consistent_data,
          test_uploads_have_their_own_workers,
          test_unreachable_store_is_503_and_named_by_healthz,
          test_invalid_configuration_stops_start_up])
