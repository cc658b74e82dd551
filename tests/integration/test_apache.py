"""test_apache.py: the same binary under a real Apache, as the README says.

Through mod_fcgid with the shipped site (apache/bandpics-fcgid.conf,
included as is, its paths given by Define) and as plain CGI with the
shipped .htaccess (apache/htaccess) in a sub-directory of a web root: the
group and image suites' core flows (create, multipart uploads of two
JPEGs and of a 20 MB JPEG, read, files with ETag and Range, patch,
delete, bad input as JSON 4xx), bearer tokens reaching the program, the
request id from mod_unique_id, URLs under the mount point, and no data,
configuration or database file reachable over HTTP.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess

import apache
from harness import (BIN, SRCDIR, Skip, Stack, expect, expect_error, expect_status, main,
                     wait_until)
from images import jpeg_size, make_image, multipart, padded_jpeg

SKIP = None if apache.available() else "apache2 and libapache2-mod-fcgid are not installed"
BIG = 20 * 1024 * 1024


def make_key(config_path):
    out = subprocess.run([BIN, "--config", config_path, "--key-create", "apache test",
                          "--role", "admin"], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items()
                              if not k.startswith("BANDPICS_")})
    expect(out.returncode == 0, out.stderr)
    return out.stdout.strip()


def apache_request_id(resp):
    # mod_unique_id's id (base64-like, 24 or more characters), not one the
    # program made (32 hex digits).
    rid = resp.header("x-request-id") or ""
    expect(re.match(r"^[A-Za-z0-9@_-]{20,}$", rid) and not re.match(r"^[0-9a-f]{32}$", rid),
           "not Apache's request id: %r" % rid)
    return rid


def core_flows(stack, base, key):
    """The group and image suites' core flows under base ("" or "/dir")."""
    auth = {"Authorization": "Bearer " + key}
    root = stack.get(base + "/")
    expect(root.status == 200 and root.header("content-type") == "application/json",
           repr(root))
    # Writes need the bearer token: it reaches the program.
    expect_error(stack.post(base + "/image_groups", {"name": "x"}), 401)
    created = stack.post(base + "/image_groups", {"name": "Apache gig"}, headers=auth)
    expect_status(created, 201)
    group_id = created.json["id"]
    expect(created.header("location") == base + "/image_groups/" + group_id,
           created.header("location"))
    rid = apache_request_id(created)
    # The shipped site's log, else the test server's.
    logs = [os.path.join(stack.dir, name) for name in ("bandpics.access.log",
                                                        "apache-access.log")]
    log_path = logs[0] if os.path.exists(logs[0]) else logs[1]

    def logged():
        with open(log_path) as log:
            return rid in log.read()
    # Apache writes its log line after the answer.
    wait_until(logged, timeout=30, what="Apache's log line with the request id")

    # Two JPEGs in one multipart body, into the group.
    first, second = make_image(640, 480, "jpg"), make_image(480, 640, "jpg")
    ctype, body = multipart([], [("images", "a.jpg", first, "image/jpeg"),
                                 ("images", "b.jpg", second, "image/jpeg")])
    added = stack.post(base + "/images/" + group_id, body,
                       headers=dict(auth, **{"Content-Type": ctype}))
    expect_status(added, 201)
    expect([i["filename"] for i in added.json["added_images"]] == ["a.jpg", "b.jpg"],
           repr(added.json))
    # A 20 MB JPEG (over mod_fcgid's default 128 KiB limit many times).
    big = padded_jpeg(BIG)
    ctype, body = multipart([("group", group_id)], [("image", "big.jpg", big, "image/jpeg")])
    uploaded = stack.post(base + "/images", body, headers=dict(auth, **{"Content-Type": ctype}))
    expect_status(uploaded, 201)
    image = uploaded.json
    expect(image["size"] == len(big) and image["sha256"] == hashlib.sha256(big).hexdigest(),
           repr(image))
    expect(image["urls"]["thumb"] == "%s/images/%s/thumb" % (base, image["id"]),
           repr(image["urls"]))

    # Read.
    group = stack.get(base + "/image_groups/" + group_id)
    expect_status(group, 200)
    expect(sorted(i["filename"] for i in group.json["images"]) ==
           ["a.jpg", "b.jpg", "big.jpg"], repr(group.json))
    listed = stack.get(base + "/image_groups?limit=1")
    expect(listed.header("x-total-count") == "1", repr(listed.headers))

    # Files, with ETag and Range.
    original = stack.get(image["urls"]["file"], headers=auth)
    expect_status(original, 200)
    expect(original.body == big, "the original differs")
    part = stack.get(image["urls"]["file"], headers=dict(auth, Range="bytes=2-11"))
    expect_status(part, 206)
    expect(part.body == big[2:12], "range bytes differ")
    thumb = stack.get(image["urls"]["thumb"])
    expect_status(thumb, 200)
    expect(thumb.header("content-type") == "image/jpeg", repr(thumb.headers))
    expect(jpeg_size(thumb.body) == (300, 225), repr(jpeg_size(thumb.body)))
    etag = thumb.header("etag")
    expect(etag, "no ETag on a gallery size")
    expect("content-length" not in (thumb.header("vary") or "").lower(),
           "the body limit's check varies answers: %r" % thumb.header("vary"))
    expect_status(stack.get(image["urls"]["thumb"], headers={"If-None-Match": etag}), 304)
    expect_status(stack.get(image["urls"]["thumb"], headers={"Range": "bytes=0-3"}), 206)
    expect_error(stack.get(image["urls"]["thumb"], headers={"Range": "bytes=99999999-"}),
                 416)

    # Patch.
    patched = stack.patch(base + "/images/" + image["id"], {"description": "encore"},
                          headers=auth)
    expect_status(patched, 200)
    expect(patched.json["description"] == "encore", repr(patched.json))
    renamed = stack.patch(base + "/image_groups/" + group_id, {"group": {"name": "Renamed"}},
                          headers=auth)
    expect(renamed.status == 200 and renamed.json["name"] == "Renamed", repr(renamed))

    # Bad input: JSON 4xx, from the program.
    expect_error(stack.post(base + "/image_groups", '{"name": ', headers=dict(
        auth, **{"Content-Type": "application/json"})), 400, "Malformed JSON")
    expect_error(stack.post(base + "/image_groups", {"name": "x" * 201}, headers=auth), 422)
    ctype, body = multipart([], [("image", "half.jpg", first[:len(first) // 2], "image/jpeg")])
    expect_error(stack.post(base + "/images", body,
                            headers=dict(auth, **{"Content-Type": ctype})), 422)
    expect_error(stack.get(base + "/images/" + "0" * 24), 404)
    expect_error(stack.get(base + "/no/such/route"), 404)

    # Delete.
    gone = stack.delete(base + "/images/" + image["id"], headers=auth)
    expect(gone.status == 200 and gone.json["id"] == image["id"], repr(gone))
    expect_error(stack.get(image["urls"]["thumb"]), 404)
    gone = stack.delete(base + "/image_groups/" + group_id, headers=auth)
    expect(gone.status == 200 and gone.json["num_images"] == 2, repr(gone))
    expect_error(stack.get(base + "/image_groups/" + group_id), 404)


def body_over_limit(stack, base, key, size):
    """A body of size bytes, over max_body_bytes, is the program's JSON 413."""
    big = b"x" * size
    ctype, body = multipart([], [("image", "huge.jpg", big, "image/jpeg")])
    expect_error(stack.post(base + "/images", body,
                            headers={"Content-Type": ctype,
                                     "Authorization": "Bearer " + key}), 413)


def over_apache_limit(stack, path, key):
    """A body over the site's own limit: a 413 in JSON (Apache's or the
    program's, whichever sees it first), without sending the body."""
    _, head, body = stack.raw_request((
        "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        "Authorization: Bearer %s\r\nContent-Length: 60000000\r\n"
        "Connection: close\r\n\r\n" % (path, key)).encode())
    expect(head.startswith(b"HTTP/1.1 413"), repr(head + body))
    expect(b"\r\nContent-Type: application/json" in head, repr(head))
    expect(json.loads(body)["detail"], repr(body))


def no_orphan_programs(program):
    """No copy of program still runs (Apache stopped what it started)."""
    def none_left():
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % pid) == program:
                    return False
            except OSError:
                pass
        return True
    wait_until(none_left, timeout=60, what="mod_fcgid's programs to end")


def test_mod_fcgid_site_as_shipped():
    if SKIP:
        raise Skip(SKIP)
    stack = Stack(name="fcgid", config={"auth_mode": "writes", "max_body_bytes": "30M"})
    server = None
    try:
        os.chmod(stack.dir, 0o755)
        apache.open_path_to(stack.dir)
        program = os.path.join(stack.dir, "bin", "bandpics-fcgi")
        os.makedirs(os.path.dirname(program))
        shutil.copy(BIN, program)
        key = make_key(stack.config_path)
        os.makedirs(os.path.join(stack.data_dir, "files"), exist_ok=True)
        apache.give_to_server(stack.data_dir)
        modules = ["fcgid", "rewrite", "unique_id"]  # as the README enables them
        if apache.has_module("xsendfile"):
            modules.append("xsendfile")
        site = """Define BANDPICS_PROGRAM %s
Define BANDPICS_CONFIG %s
Define BANDPICS_FILES %s
Define BANDPICS_LOG_DIR %s
# Retirement made frequent, to see that it costs no request.
Define BANDPICS_MAX_REQUESTS 20
Include %s/apache/bandpics-fcgid.conf
""" % (program, stack.config_path, os.path.join(stack.data_dir, "files"), stack.dir, SRCDIR)
        server = apache.Apache(stack.dir, modules, site, stack.logs).start()
        stack.port = server.port
        core_flows(stack, "", key)
        body_over_limit(stack, "", key, 31 * 1024 * 1024)
        over_apache_limit(stack, "/images", key)
        # Files were sent by Apache (X-Sendfile): the program answered
        # without streaming them, and what arrived is the file.
        if "xsendfile" in modules:
            img_body = padded_jpeg(200 * 1024)
            ctype, body = multipart([], [("image", "s.jpg", img_body, "image/jpeg")])
            image = stack.post("/images", body, headers={
                "Content-Type": ctype, "Authorization": "Bearer " + key}).json
            sent = stack.get(image["urls"]["fullsize"])
            expect_status(sent, 200)
            expect("x-sendfile" not in sent.headers, "X-Sendfile reached the client")
            expect(sent.header("last-modified"), "not sent by Apache: " + repr(sent.headers))
        # mod_fcgid retires its processes (FcgidMaxRequestsPerProcess);
        # the program never exits on its own, and no request fails.
        statuses = [stack.get("/image_groups?limit=1").status for _ in range(200)]
        expect(statuses == [200] * 200, "failed: %r" % sorted(set(statuses)))
        with open(server.error_log) as log:
            pids = set(re.findall(r'"pid":(\d+),"type":"request"', log.read()))
        expect(len(pids) > 2, "no process was retired: %r" % pids)
        server.stop()
        no_orphan_programs(program)
        stack.check_sanitizers()
    finally:
        if server is not None:
            server.stop()
        stack.cleanup()


def readme_block(heading):
    """The first sh block of the README section under heading."""
    with open(os.path.join(SRCDIR, "README.md")) as f:
        text = f.read()
    section = text[text.index("\n" + heading + "\n"):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh"))]


def cgi_site(stack, modules, data_inside):
    """A web root with the shipped .htaccess, bandpics.cgi and
    bandpics.conf in /bandpics/. The layout is the README's, its commands
    run as written (HOME in the test's directory, the program built
    there); with data_inside, the data directory is inside the web root
    instead (a host that allows nothing else)."""
    home = os.path.join(stack.dir, "home")
    work = os.path.join(stack.dir, "source")
    os.makedirs(os.path.join(work, "build", "release"))
    os.symlink(BIN, os.path.join(work, "build", "release", "bandpics-fcgi"))
    os.symlink(os.path.join(SRCDIR, "apache"), os.path.join(work, "apache"))
    os.makedirs(home)
    out = subprocess.run(["bash", "-euc", readme_block("### Shared hosting (CGI)")],
                         cwd=work, env=dict(os.environ, HOME=home), capture_output=True,
                         text=True, timeout=60)
    expect(out.returncode == 0, "README recipe: " + out.stderr)
    keys = [line for line in out.stdout.splitlines() if line.startswith("bpk_")]
    expect(len(keys) == 1, "the recipe printed no key: %r" % out.stdout)
    key = keys[0]
    www = os.path.join(home, "public_html")
    app = os.path.join(www, "bandpics")
    conf = os.path.join(home, "bandpics", "bandpics.conf")
    data = os.path.join(home, "bandpics", "data")
    expect(os.stat(os.path.dirname(conf)).st_mode & 0o077 == 0, "~/bandpics is not private")
    if data_inside:
        # The README's variant: the configuration beside the program, no
        # SetEnv line, the data inside the web root.
        shutil.copy(os.path.join(SRCDIR, "apache", "htaccess"),
                    os.path.join(app, ".htaccess"))
        conf = os.path.join(app, "bandpics.conf")
        data = os.path.join(app, "data")
        with open(conf, "w") as f:
            f.write("data_dir = %s\n" % data)
        key = make_key(conf)
    # CGI programs run as the web server's account here: it is given what
    # the README's user owns (suEXEC would run them as that user).
    apache.give_to_server(os.path.join(home, "bandpics"), data)
    site = """DocumentRoot %s
<Directory %s>
    AllowOverride All
    Require all granted
</Directory>
""" % (www, www)
    server = apache.Apache(stack.dir, ["cgid", "unique_id"] + modules, site, stack.logs)
    return server, key, data, app, conf


def not_served(stack, path, data):
    """path is refused with a JSON 403 (Apache's) or 404 (the program's)."""
    resp = stack.get(path)
    expect_error(resp, 403 if resp.status == 403 else 404)
    expect(data not in resp.body, "%s served its content" % path)


def test_cgi_with_shipped_htaccess():
    if SKIP:
        raise Skip(SKIP)
    stack = Stack(name="apache-cgi")
    server = None
    try:
        os.chmod(stack.dir, 0o755)
        apache.open_path_to(stack.dir)
        server, key, data, app, conf_path = cgi_site(stack, ["rewrite"], data_inside=False)
        server.start()
        stack.port = server.port
        core_flows(stack, "/bandpics", key)
        body_over_limit(stack, "/bandpics", key, 51 * 1024 * 1024)
        over_apache_limit(stack, "/bandpics/images", key)
        expect_status(stack.get("/bandpics/"), 200)
        bare = stack.get("/bandpics")
        expect(bare.status == 200 and bare.header("content-type") == "application/json",
               repr(bare))
        # What lies beside the program is not served: the request reaches
        # the program, which has no such route.
        # Nothing secret is in the web root; what is there is not served.
        expect(not os.path.exists(os.path.join(app, "bandpics.conf")), "config in web root")
        with open(conf_path, "rb") as f:
            conf = f.read()
        for path in ("/bandpics/bandpics.conf", "/bandpics/.htaccess",
                     "/bandpics/bandpics.cgi"):
            not_served(stack, path, conf)
        server.stop()
        stack.check_sanitizers()
    finally:
        if server is not None:
            server.stop()
        stack.cleanup()


def test_cgi_data_inside_web_root_is_denied():
    """A host that allows nothing outside the web root: the data and the
    configuration beside the program, denied with and without mod_rewrite."""
    if SKIP:
        raise Skip(SKIP)
    for modules in (["rewrite"], []):
        stack = Stack(name="apache-inside")
        server = None
        try:
            os.chmod(stack.dir, 0o755)
            apache.open_path_to(stack.dir)
            server, key, data, app, conf_path = cgi_site(stack, modules, data_inside=True)
            server.start()
            stack.port = server.port
            if modules:
                made = stack.post("/bandpics/image_groups", {"name": "Inside"},
                                  headers={"Authorization": "Bearer " + key})
                expect_status(made, 201)
                ctype, body = multipart([("group", made.json["id"])],
                                        [("image", "in.jpg", make_image(64, 48, "jpg"),
                                          "image/jpeg")])
                image = stack.post("/bandpics/images", body, headers={
                    "Content-Type": ctype, "Authorization": "Bearer " + key})
                expect_status(image, 201)
            secrets = []
            for root, _, files in os.walk(data):
                for name in files:
                    secrets.append(os.path.relpath(os.path.join(root, name),
                                                   os.path.dirname(app)))
            expect(not modules or any(s.endswith("bandpics.db") for s in secrets),
                   repr(secrets))
            with open(conf_path, "rb") as f:
                conf = f.read()
            for path in ["bandpics/bandpics.conf", "bandpics/.htaccess"] + secrets:
                not_served(stack, "/" + path, conf)
                resp = stack.get("/" + path)
                expect(b"SQLite format" not in resp.body and b"\xff\xd8\xff" not in
                       resp.body[:3], "%s was served" % path)
            server.stop()
            stack.check_sanitizers()
        finally:
            if server is not None:
                server.stop()
            stack.cleanup()


if __name__ == "__main__":
    main([test_mod_fcgid_site_as_shipped, test_cgi_with_shipped_htaccess,
          test_cgi_data_inside_web_root_is_denied])
