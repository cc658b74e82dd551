"""test_modes.py: the same binary launched the other two ways.

Plain CGI (one request from the environment and stdin, as Apache's
mod_cgi or a shared host runs it) and a listening socket on fd 0 (as
spawn-fcgi and Apache mod_fcgid launch it), the latter behind nginx.
"""
import grp
import json
import os
import shutil
import re
import signal
import sqlite3
import subprocess
import tempfile

from harness import (BIN, NGINX, SRCDIR, Skip, Stack, expect, expect_status, free_port,
                     main, wait_until)
from images import make_image, multipart


def cgi(stack, method, path_info, body=b"", content_type=None, query="", extra=None,
        program=BIN):
    """Runs one CGI request; extra adds variables (None removes one)."""
    env = stack.env({
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "/cgi-bin/bandpics",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "BANDPICS_DATA_DIR": stack.data_dir,
        "BANDPICS_AUTH_MODE": "off",
    })
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        env["CONTENT_TYPE"] = content_type
    out = subprocess.run([program], input=body, env=env, capture_output=True, timeout=30)
    expect(out.returncode == 0, "exit %d: %s" % (out.returncode, out.stderr[-2000:]))
    for mark in (b"AddressSanitizer", b"runtime error:", b"LeakSanitizer"):
        expect(mark not in out.stderr, out.stderr.decode(errors="replace"))
    head, _, payload = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    expect(any(re.match(r"^X-Request-Id: [0-9a-f]{32}$", l) for l in lines),
           "no X-Request-Id made for a CGI request: %r" % lines)
    expect(lines[0].startswith("Status: "), repr(lines[0]))
    headers = dict(line.split(": ", 1) for line in lines[1:])
    if method != "HEAD":
        expect(int(headers["Content-Length"]) == len(payload), "Content-Length mismatch")
    return int(lines[0].split()[1]), headers, payload


def test_cgi_mode_answers_from_environment_and_stdin():
    stack = Stack(name="cgi")
    try:
        body = json.dumps({"group": {"name": "From CGI"}}).encode()
        status, headers, payload = cgi(stack, "POST", "/image_groups", body,
                                       "application/json")
        expect(status == 201, "%d %r" % (status, payload))
        created = json.loads(payload)
        # Under a script name, the URLs the API writes carry it.
        expect(headers["Location"] == "/cgi-bin/bandpics/image_groups/" + created["id"],
               headers["Location"])
        status, headers, payload = cgi(stack, "GET", "/image_groups/" + created["id"])
        expect(status == 200 and json.loads(payload)["name"] == "From CGI", repr(payload))
        expect(headers["Content-Type"] == "application/json")
        status, headers, payload = cgi(stack, "GET", "/image_groups", query="limit=1")
        expect(status == 200 and headers["X-Total-Count"] == "1", repr(headers))
        status, _, payload = cgi(stack, "DELETE", "/image_groups")
        expect(status == 405, repr(payload))
        status, _, payload = cgi(stack, "HEAD", "/")
        expect(status == 200 and payload == b"", repr(payload))
    finally:
        stack.cleanup()


def cgi_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDPICS_")}
    env.update({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
                "PATH_INFO": "/image_groups", "QUERY_STRING": "",
                "SERVER_PROTOCOL": "HTTP/1.1", "BANDPICS_AUTH_MODE": "off"})
    env.update(extra)
    return env


def test_cgi_finds_its_configuration():
    tmp = tempfile.mkdtemp(prefix="bp-cgi-conf-")
    try:
        # $BANDPICS_CONFIG first.
        data = os.path.join(tmp, "data-env")
        conf = os.path.join(tmp, "env.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\nauth_mode = off\n" % data)
        out = subprocess.run([BIN], env=cgi_env({"BANDPICS_CONFIG": conf}),
                             capture_output=True, timeout=30)
        expect(out.stdout.startswith(b"Status: 200"), repr(out.stdout[:200] + out.stderr[-500:]))
        expect(os.path.exists(os.path.join(data, "bandpics.db")), "not the configured data")
        # Else bandpics.conf beside the program (a CGI takes no options).
        program = os.path.join(tmp, "bandpics.cgi")
        shutil.copy(BIN, program)
        data = os.path.join(tmp, "data-beside")
        with open(os.path.join(tmp, "bandpics.conf"), "w") as f:
            f.write("data_dir = %s\nauth_mode = off\n" % data)
        out = subprocess.run([program], env=cgi_env({}), capture_output=True, timeout=30)
        expect(out.stdout.startswith(b"Status: 200"), repr(out.stdout[:200] + out.stderr[-500:]))
        expect(os.path.exists(os.path.join(data, "bandpics.db")), "bandpics.conf beside ignored")
        # A missing $BANDPICS_CONFIG is an error, not a silent default.
        out = subprocess.run([BIN], env=cgi_env({"BANDPICS_CONFIG": conf + ".missing"}),
                             capture_output=True, timeout=30)
        expect(out.returncode != 0, "a missing BANDPICS_CONFIG was accepted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_start_up_failure_is_json_503_and_check_fails():
    tmp = tempfile.mkdtemp(prefix="bp-cgi-fail-")
    try:
        # A data directory that cannot be made.
        env = cgi_env({"BANDPICS_DATA_DIR": "/proc/bandpics-cannot-exist"})
        out = subprocess.run([BIN], env=env, capture_output=True, timeout=30)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        expect(head.startswith(b"Status: 503") and b"application/json" in head, repr(head))
        expect(json.loads(body)["detail"], repr(body))
        expect(b"/proc/bandpics-cannot-exist" not in body, "a path leaked into the answer")
        check = subprocess.run([BIN, "--config", "/dev/null", "--check"], env=env,
                               capture_output=True, text=True, timeout=60)
        expect(check.returncode == 1, "--check passed: %r" % check.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def traced_cgi(stack, trace, *args, **kw):
    """cgi() under strace, the files it opens written to trace. (The leak
    check cannot run under ptrace.)"""
    wrapper = os.path.join(stack.dir, "traced")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nASAN_OPTIONS=detect_leaks=0:abort_on_error=1 exec strace -f -qq "
                "-e trace=openat -o %s %s\n" % (trace, BIN))
    os.chmod(wrapper, 0o755)
    return cgi(stack, *args, program=wrapper, **kw)


def test_cgi_get_sets_up_only_what_it_needs():
    """A CGI read from SQLite does not set up ImageMagick (its policy
    files are not read) nor take the database's write lock to check the
    schema; an upload does set up ImageMagick (the check can fail)."""
    if shutil.which("strace") is None:
        raise Skip("strace is not installed")
    stack = Stack(name="cgi-lazy")
    try:
        body = json.dumps({"name": "Lazy"}).encode()
        status, _, payload = cgi(stack, "POST", "/image_groups", body, "application/json")
        expect(status == 201, repr(payload))
        group_id = json.loads(payload)["id"]
        trace = os.path.join(stack.dir, "get.trace")
        status, _, _ = traced_cgi(stack, trace, "GET", "/image_groups/" + group_id)
        expect(status == 200, "GET through strace: %d" % status)
        with open(trace) as f:
            opened = f.read()
        expect("policy.xml" not in opened, "a GET set up ImageMagick")
        ctype, upload = multipart(fields=[("group", group_id)],
                                  files=[("image", "a.jpg", make_image(64, 48, "jpg"),
                                          "image/jpeg")])
        trace = os.path.join(stack.dir, "post.trace")
        status, _, payload = traced_cgi(stack, trace, "POST", "/images", upload, ctype)
        expect(status == 201, repr(payload))
        with open(trace) as f:
            expect("policy.xml" in f.read(), "the upload's trace shows no ImageMagick set-up")
        # A writer holds the database's write lock (an upload committing):
        # a CGI read still answers at once, not after the busy timeout.
        db = sqlite3.connect(os.path.join(stack.data_dir, "bandpics.db"),
                             isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            status, _, payload = cgi(stack, "GET", "/image_groups/" + group_id,
                                     extra={"BANDPICS_SQLITE_BUSY_TIMEOUT_MS": "0"})
            expect(status == 200, "a read waited for the write lock: %d %r" % (status, payload))
        finally:
            db.execute("ROLLBACK")
            db.close()
    finally:
        stack.cleanup()


def test_spawn_fcgi_launch_behind_nginx():
    spawn = shutil.which("spawn-fcgi")
    expect(spawn is not None, "spawn-fcgi is not installed")
    stack = Stack(name="spawn")
    sock = os.path.join(stack.dir, "spawn.sock")
    log = open(os.path.join(stack.dir, "spawn.log"), "w")
    stack.logs.append(log.name)
    # -n: stay in the foreground, so the test owns the process.
    # max_requests is the pool's: a worker on fd 0 has no master to
    # replace it, so it must not retire itself (no request may fail).
    proc = subprocess.Popen([spawn, "-n", "-s", sock, "--", BIN],
                            stdout=log, stderr=subprocess.STDOUT,
                            env=stack.env({"BANDPICS_DATA_DIR": stack.data_dir,
                                           "BANDPICS_AUTH_MODE": "off",
                                           "BANDPICS_MAX_REQUESTS": "50"}),
                            start_new_session=True)
    log.close()
    try:
        wait_until(lambda: os.path.exists(sock), what="the spawn-fcgi socket")
        stack.start_nginx(upstream="unix:" + sock)
        resp = stack.get("/")
        expect_status(resp, 200)
        created = stack.post("/image_groups", {"name": "Spawned"})
        expect_status(created, 201)
        got = stack.get("/image_groups/" + created.json["id"])
        expect(got.json["name"] == "Spawned")
        statuses = [stack.get("/image_groups/" + created.json["id"]).status
                    for _ in range(500)]
        expect(statuses == [200] * 500, "failed: %r" % sorted(set(statuses)))
        expect(proc.poll() is None, "the worker exited")
        # A request id is made when the web server names none (CGI).
        expect(len(got.header("x-request-id") or "") == 32, repr(got.headers))
        stack.stop()
        proc.send_signal(signal.SIGTERM)
        expect(proc.wait(timeout=20) == 0, "worker exit status")
        stack.check_sanitizers()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stack.stop()
        stack.cleanup()


def test_build_and_install_as_the_readme_says():
    src = os.environ.get("BANDPICS_SRCDIR", ".")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    out = subprocess.run(["./deploy/dev", "build"], cwd=src, env=env,
                         capture_output=True, text=True, timeout=1800)
    expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
    dest = tempfile.mkdtemp(prefix="bp-install-")
    try:
        # README's line, staged in a temporary root.
        make = ["make", "-C", "build/release"]
        out = subprocess.run(make + ["install", "sysconfdir=/etc", "DESTDIR=" + dest],
                             cwd=src, env=env, capture_output=True, text=True, timeout=600)
        expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
        program = os.path.join(dest, "usr/local/bin/bandpics-fcgi")
        expect(os.access(program, os.X_OK), "no executable " + program)
        for installed, shipped in (
                ("etc/bandpics/bandpics.conf.example", "deploy/bandpics.conf.example"),
                ("usr/local/share/bandpics/nginx/bandpics-site.conf",
                 "nginx/bandpics-site.conf"),
                ("usr/local/share/bandpics/nginx/bandpics-locations.conf",
                 "nginx/bandpics-locations.conf"),
                ("usr/local/share/bandpics/apache/bandpics-fcgid.conf",
                 "apache/bandpics-fcgid.conf"),
                ("usr/local/share/bandpics/apache/htaccess", "apache/htaccess"),
                ("usr/local/lib/systemd/system/bandpics.service", "deploy/bandpics.service")):
            with open(os.path.join(dest, installed), "rb") as a, \
                    open(os.path.join(src, shipped), "rb") as b:
                expect(a.read() == b.read(), installed + " differs from " + shipped)
        # The unit starts the program where install put it.
        with open(os.path.join(src, "deploy/bandpics.service")) as unit:
            expect("ExecStart=/usr/local/bin/bandpics-fcgi " in unit.read(),
                   "the unit and the install path disagree")
        # The installed program accepts the installed example configuration.
        data = os.path.join(dest, "data")
        check = subprocess.run([program, "--config",
                                os.path.join(dest, "etc/bandpics/bandpics.conf.example"),
                                "--check"],
                               env=dict(os.environ, BANDPICS_DATA_DIR=data),
                               capture_output=True, text=True, timeout=60)
        expect(check.returncode == 0, check.stdout + check.stderr)
        # systemd accepts the installed unit as installed: its commands
        # exist in that root, no key unknown or malformed (verify prints
        # nothing when all is well). The root borrows this machine's own
        # units (the targets it names) and kill (ExecReload).
        for needed in ("ProtectSystem=strict", "ReadWritePaths=/var/lib/bandpics",
                       "NoNewPrivileges=yes", "PrivateTmp=yes"):
            with open(os.path.join(dest, "usr/local/lib/systemd/system/bandpics.service")) as u:
                expect(needed in u.read().splitlines(), "unit lacks " + needed)
        borrowed = [os.path.join(dest, "usr/lib/systemd"), os.path.join(dest, "bin")]
        os.makedirs(borrowed[0])
        os.makedirs(borrowed[1])
        shutil.copytree("/usr/lib/systemd/system", os.path.join(borrowed[0], "system"),
                        symlinks=True)
        shutil.copy("/bin/kill", borrowed[1])
        verify = subprocess.run(["systemd-analyze", "verify", "--root=" + dest,
                                 os.path.join(dest, "usr/local/lib/systemd/system/"
                                              "bandpics.service")],
                                capture_output=True, text=True, timeout=120)
        expect(verify.returncode == 0 and verify.stdout + verify.stderr == "",
               "systemd-analyze verify: %d %s%s" % (verify.returncode, verify.stdout,
                                                   verify.stderr))
        for path in borrowed:
            shutil.rmtree(path)
        # Another prefix: the unit names where the program went.
        other = os.path.join(dest, "other")
        out = subprocess.run(make + ["install", "prefix=/usr", "sysconfdir=/etc",
                                     "DESTDIR=" + other],
                             cwd=src, env=env, capture_output=True, text=True, timeout=600)
        expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
        with open(os.path.join(other, "usr/lib/systemd/system/bandpics.service")) as u:
            expect("ExecStart=/usr/bin/bandpics-fcgi --pool --config "
                   "/etc/bandpics/bandpics.conf " in u.read(), "unit paths not substituted")
        with open(os.path.join(other, "usr/share/bandpics/apache/bandpics-fcgid.conf")) as c:
            site = c.read()
            expect("Define BANDPICS_PROGRAM /usr/bin/bandpics-fcgi\n" in site and
                   "Define BANDPICS_CONFIG /etc/bandpics/bandpics.conf\n" in site,
                   "Apache site paths not substituted")
        expect(os.access(os.path.join(other, "usr/bin/bandpics-fcgi"), os.X_OK))
        shutil.rmtree(other)
        # uninstall takes every file back.
        out = subprocess.run(make + ["uninstall", "sysconfdir=/etc", "DESTDIR=" + dest],
                             cwd=src, env=env, capture_output=True, text=True, timeout=600)
        expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
        left = [os.path.join(root, f) for root, _, files in os.walk(dest) for f in files
                if not root.startswith(data)]
        expect(left == [], "left after uninstall: %r" % left)
    finally:
        shutil.rmtree(dest, ignore_errors=True)

def test_debian_package_installs_and_removes():
    """./deploy/dev package, then apt-get install ./build/bandpics_*.deb as
    the README says, --check with the installed configuration as the
    service would run it, then apt-get purge."""
    src = os.environ.get("BANDPICS_SRCDIR", ".")
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "bandpics"],
                            capture_output=True, text=True)
    if "installed" in status.stdout or os.path.exists("/var/lib/bandpics"):
        # Not this test's to replace: a real installation.
        raise AssertionError("bandpics is installed on this machine (or /var/lib/bandpics "
                             "exists); the package test installs and purges it")
    if os.getuid() != 0:
        raise Skip("installing a package needs root")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    out = subprocess.run(["./deploy/dev", "package"], cwd=src, env=env,
                         capture_output=True, text=True, timeout=1800)
    expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
    debs = [f for f in os.listdir(os.path.join(src, "build"))
            if re.match(r"^bandpics_[0-9.]+_[a-z0-9]+\.deb$", f)]
    expect(len(debs) == 1, repr(debs))
    deb = "./build/" + debs[0]
    info = subprocess.run(["dpkg-deb", "-f", os.path.join(src, deb), "Depends"],
                          capture_output=True, text=True, check=True).stdout
    for library in ("libfcgi0ldbl", "libmagickwand-6.q16-6", "libexif12", "libjson-c5",
                    "libsqlite3-0", "libmongoc-1.0-0"):
        expect(library in info, "Depends lacks %s: %s" % (library, info))
    apt_env = dict(env, DEBIAN_FRONTEND="noninteractive")
    files = []
    try:
        out = subprocess.run(["apt-get", "install", "-y", deb], cwd=src, env=apt_env,
                             capture_output=True, text=True, timeout=600)
        expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
        files = subprocess.run(["dpkg", "-L", "bandpics"], capture_output=True, text=True,
                               check=True).stdout.split()
        for path in ("/usr/bin/bandpics-fcgi", "/etc/bandpics/bandpics.conf",
                     "/usr/lib/systemd/system/bandpics.service",
                     "/usr/share/bandpics/nginx/bandpics-site.conf",
                     "/usr/share/bandpics/apache/bandpics-fcgid.conf"):
            expect(path in files and os.path.exists(path), "not installed: " + path)
        with open("/usr/lib/systemd/system/bandpics.service") as unit:
            expect("ExecStart=/usr/bin/bandpics-fcgi " in unit.read(), "unit paths")
        expect(subprocess.run(["getent", "passwd", "bandpics"],
                              stdout=subprocess.DEVNULL).returncode == 0, "no bandpics account")
        expect("www-data" in grp.getgrnam("bandpics").gr_mem,
               "www-data (nginx's and Apache's user) is not in the group bandpics")
        conf = os.stat("/etc/bandpics/bandpics.conf")
        expect(conf.st_mode & 0o007 == 0, "the configuration is world-readable")
        # As the README says (and as Apache would run it: www-data with
        # its own groups, which now include bandpics).
        check = subprocess.run(["runuser", "-u", "www-data", "--", "bandpics-fcgi",
                                "--config", "/etc/bandpics/bandpics.conf", "--check"],
                               capture_output=True, text=True, timeout=60)
        expect(check.returncode == 0 and "configuration ok" in check.stdout,
               check.stdout + check.stderr)
        # As root it refuses, rather than leave root's files in the data
        # directory that the service could not open.
        check = subprocess.run(["bandpics-fcgi", "--config", "/etc/bandpics/bandpics.conf",
                                "--key-create", "x", "--role", "admin"],
                               capture_output=True, text=True, timeout=60)
        expect(check.returncode == 1 and "runuser -u www-data" in check.stderr,
               check.stdout + check.stderr)
    finally:
        out = subprocess.run(["apt-get", "purge", "-y", "bandpics"], env=apt_env,
                             capture_output=True, text=True, timeout=600)
    expect(out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:])
    left = [f for f in files if os.path.isfile(f)]
    expect(left == [], "left after purge: %r" % left)
    expect(subprocess.run(["getent", "passwd", "bandpics"], stdout=subprocess.DEVNULL).returncode != 0,
           "the account outlived the purge")
    # The data (here what --check made) is never deleted by the package.
    expect(os.path.isdir("/var/lib/bandpics"), "the data directory went with the package")
    expect(os.stat("/var/lib/bandpics").st_gid == grp.getgrnam("www-data").gr_gid,
           "the kept data belongs to a group that is gone")
    shutil.rmtree("/var/lib/bandpics")


def test_production_nginx_site_is_accepted():
    """nginx/bandpics-site.conf as shipped, with only its machine paths
    moved into a temporary directory (the snippet's include, the log, the
    listen address), passes `nginx -t`: its upstreams, the map that sends
    uploads to the upload workers, and the locations it includes."""
    tmp = tempfile.mkdtemp(prefix="bp-site-")
    try:
        with open(os.path.join(SRCDIR, "nginx", "bandpics-site.conf")) as f:
            site = f.read()
        moves = {"/etc/nginx/snippets/bandpics-locations.conf":
                 os.path.join(SRCDIR, "nginx", "bandpics-locations.conf"),
                 "/var/log/nginx/": tmp + "/",
                 "listen 80;": "listen 127.0.0.1:%d;" % free_port(),
                 "listen [::]:80;": ""}
        for old, new in moves.items():
            expect(old in site, "the site no longer names " + old)
            site = site.replace(old, new)
        with open(os.path.join(tmp, "site.conf"), "w") as f:
            f.write(site)
        temp_paths = "".join("%s_temp_path %s/%s;\n" % (kind, tmp, kind)
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n"
                    "include /etc/nginx/mime.types;\n%sinclude %s/site.conf;\n}\n"
                    % (tmp, tmp, temp_paths, tmp))
        out = subprocess.run([NGINX, "-t", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                             capture_output=True, text=True, timeout=60)
        expect(out.returncode == 0, out.stdout + out.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_urls_under(stack, prefix, path_of, extra):
    """The URLs the API writes (Location, urls, Link, upload URLs) start
    with prefix when it serves path_of(route) under it."""
    def call(method, route, body=b"", ctype=None, query=""):
        return cgi(stack, method, path_of(route), body, ctype, query, extra)
    jpeg = make_image(64, 48, "jpg")
    for name in ("one", "two"):
        status, headers, payload = call(
            "POST", "/image_groups", json.dumps({"group": {"name": name}}).encode(),
            "application/json")
        expect(status == 201, "%d %r" % (status, payload))
        expect(headers["Location"] == prefix + "/image_groups/" + json.loads(payload)["id"],
               headers["Location"])
    group_id = json.loads(payload)["id"]
    ctype, body = multipart(fields=[("group", group_id)],
                            files=[("image", "a.jpg", jpeg, "image/jpeg")])
    status, headers, payload = call("POST", "/images", body, ctype)
    expect(status == 201, "%d %r" % (status, payload))
    image = json.loads(payload)
    expect(headers["Location"] == prefix + "/images/" + image["id"], headers["Location"])
    for kind in ("file", "fullsize", "thumb"):
        expect(image["urls"][kind] == "%s/images/%s/%s" % (prefix, image["id"], kind),
               repr(image["urls"]))
        # And each is served there.
        status, _, _ = call("GET", "/images/%s/%s" % (image["id"], kind))
        expect(status in (200, 307), "%s: %d" % (kind, status))
    status, headers, payload = call("GET", "/image_groups/" + group_id)
    group = json.loads(payload)
    expect(group["images"][0]["urls"]["thumb"].startswith(prefix + "/images/"),
           repr(group["images"]))
    status, headers, _ = call("GET", "/image_groups", query="limit=1")
    expect(headers["Link"] == "<%s/image_groups?limit=1&offset=1>; rel=\"next\"" % prefix,
           headers.get("Link"))
    status, _, payload = call("POST", "/image_groups",
                              json.dumps({"name": "d", "images": ["d.jpg"]}).encode(),
                              "application/json")
    expect(status == 201, "%d %r" % (status, payload))
    url = json.loads(payload)["images"][0]["presigned_url"]
    expect(url.startswith("http://photos.example" + prefix + "/uploads/"), url)
    status, _, payload = call("GET", "/openapi.json")
    servers = json.loads(payload)["servers"]
    expect(status == 200 and servers == [{"url": prefix}], repr(servers))


def test_urls_carry_the_mount_point():
    stack = Stack(name="mount")
    try:
        # CGI under a script name (Apache's ScriptAlias, a shared host).
        check_urls_under(stack, "/cgi-bin/bandpics", lambda route: route,
                         {"HTTP_HOST": "photos.example"})
        # A web server that passes the whole path, with base_path set.
        check_urls_under(stack, "/api", lambda route: "/api" + route,
                         {"HTTP_HOST": "photos.example", "SCRIPT_NAME": None,
                          "BANDPICS_BASE_PATH": "/api"})
    finally:
        stack.cleanup()


def dev_run(data_dir, port, log_path):
    """./deploy/dev run as the quick start gives it, in its own session
    (so that Ctrl-C can be sent to its process group), with data_dir and
    port; output to log_path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MAKE") and not k.startswith("BANDPICS_")}
    env.update(BANDPICS_DATA_DIR=data_dir, BANDPICS_PORT=str(port))
    log = open(log_path, "w")
    proc = subprocess.Popen(["./deploy/dev", "run"], cwd=SRCDIR, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc


def test_dev_run_quick_start():
    """The README's quick start: ./deploy/dev run builds, starts nginx and
    the pool, says where once /healthz answers and prints the admin key,
    which writes with; Ctrl-C stops everything with status 0. A second
    run on the same data directory, or a run whose port is taken, stops
    with status 1 and says why, leaving the first one serving."""
    import http.client
    work = tempfile.mkdtemp(prefix="bp-it-dev-run-")
    data, port = os.path.join(work, "var"), free_port()
    def read(name):
        with open(os.path.join(work, name)) as f:
            return f.read()
    def request(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()
    first = dev_run(data, port, os.path.join(work, "first.log"))
    started = [first]
    try:
        # (The admin key is printed before this line.)
        wait_until(lambda: "Bandpics on http://127.0.0.1:%d/" % port in read("first.log")
                   or first.poll() is not None, timeout=1800, what="deploy/dev run to serve")
        expect(first.poll() is None, read("first.log")[-3000:])
        with open(os.path.join(data, "admin.key")) as f:
            key = f.read().strip()
        expect(key in read("first.log"), "the admin key is not printed")
        status, body = request("POST", "/image_groups", json.dumps({"name": "quick"}),
                               {"Content-Type": "application/json",
                                "Authorization": "Bearer " + key})
        expect(status == 201, "%d %r" % (status, body[:300]))
        # The same data directory again: refused, the first untouched.
        second = dev_run(data, free_port(), os.path.join(work, "second.log"))
        started.append(second)
        expect(second.wait(timeout=600) == 1, read("second.log")[-2000:])
        expect("in use by another ./deploy/dev run" in read("second.log"),
               read("second.log")[-2000:])
        # The port taken (by the first run): status 1, and why.
        third = dev_run(os.path.join(work, "other"), port, os.path.join(work, "third.log"))
        started.append(third)
        expect(third.wait(timeout=600) == 1, read("third.log")[-2000:])
        expect("port %d is in use" % port in read("third.log") and
               not os.path.exists(os.path.join(work, "other")), read("third.log")[-2000:])
        expect(request("GET", "/healthz")[0] == 200, "the first run stopped serving")
        # Ctrl-C: SIGINT to the foreground process group.
        os.killpg(first.pid, signal.SIGINT)
        expect(first.wait(timeout=120) == 0, read("first.log")[-2000:])
        def group_gone():
            try:
                os.killpg(first.pid, 0)
                return False
            except ProcessLookupError:
                return True
        wait_until(group_gone, timeout=60, what="nginx and the pool to stop")
    finally:
        # Each run is its own process group (nginx and the pool in it).
        for proc in started:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main([test_cgi_mode_answers_from_environment_and_stdin, test_cgi_finds_its_configuration,
          test_start_up_failure_is_json_503_and_check_fails,
          test_cgi_get_sets_up_only_what_it_needs,
          test_spawn_fcgi_launch_behind_nginx, test_build_and_install_as_the_readme_says,
          test_debian_package_installs_and_removes, test_production_nginx_site_is_accepted,
          test_urls_carry_the_mount_point, test_dev_run_quick_start])
