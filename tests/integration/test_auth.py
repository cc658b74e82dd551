"""test_auth.py: who may do what, through a real nginx and the pool.

API keys made with the program's own --key-create (one per role, one
revoked, one expired), then a table over every route x every kind of
caller x auth_mode, each with its expected status; every refused write
is checked to have changed nothing. Also: records made before owners
were kept are an admin's, 401 answers carry WWW-Authenticate, the
detail never says which check of a credential failed, and no key ever
appears in a log.
"""
import json
import os
import sqlite3
import subprocess

from harness import BIN, Stack, expect, expect_error, expect_status, main
from images import (_dms, exif_block, jpeg_scan, make_image, multipart, png_chunks,
                    png_with_compressed_exif, png_with_exif, webp_chunks, webp_with_exif,
                    with_exif)

stack = None
keys = {}       # caller name -> "bpk_..." (None for anonymous)
key_ids = {}    # caller name -> key id
owner_ids = {}  # caller name -> its principal id ("key:<id>")
JPEG = None

CALLERS = ["anonymous", "reader", "owner", "other", "admin", "revoked", "expired"]


def run_cli(*args):
    out = subprocess.run([BIN, "--config", stack.config_path] + list(args),
                         capture_output=True, text=True, timeout=60,
                         env=stack.env())
    expect(out.returncode == 0, "%r: %s" % (args, out.stderr))
    return out


def make_key(name, role):
    out = run_cli("--key-create", name, "--role", role)
    lines = out.stdout.splitlines()
    expect(len(lines) == 1 and lines[0].startswith("bpk_"), repr(out.stdout))
    expect(lines[0] not in out.stderr, "the key was printed twice")
    return lines[0]


def auth(caller):
    key = keys.get(caller)
    return {"Authorization": "Bearer " + key} if key else {}


def snapshot():
    """Every group and image as an admin sees them."""
    groups = stack.get("/image_groups?limit=500", headers=auth("admin"))
    images = stack.get("/images?limit=500", headers=auth("admin"))
    expect_status(groups, 200)
    expect_status(images, 200)
    return groups.json, images.json


def restart(mode):
    stack.stop_pool()
    stack.write_config({"auth_mode": mode})
    stack.start_pool()


def test_start():
    global stack, JPEG
    JPEG = make_image(64, 48, "jpg")
    stack = Stack(name="auth", config={"auth_mode": "writes"})
    os.makedirs(stack.data_dir, exist_ok=True)
    for caller, role in (("reader", "reader"), ("owner", "contributor"),
                         ("other", "contributor"), ("admin", "admin"),
                         ("revoked", "admin"), ("expired", "admin")):
        keys[caller] = make_key(caller, role)
        key_ids[caller] = keys[caller][4:28]
        owner_ids[caller] = "key:" + key_ids[caller]
    run_cli("--key-revoke", key_ids["revoked"])
    # No command makes a key that has already expired: age one in place.
    db = sqlite3.connect(os.path.join(stack.data_dir, "bandpics.db"))
    db.execute("UPDATE api_keys SET expires_at = 1000 WHERE id = ?", (key_ids["expired"],))
    db.commit()
    db.close()
    stack.start()


def test_key_list_never_shows_secrets():
    out = run_cli("--key-list")
    lines = out.stdout.splitlines()
    expect(len(lines) == 6, repr(out.stdout))
    for caller, key in keys.items():
        expect(key[28:] not in out.stdout, "a secret was listed")
        line = [l for l in lines if l.startswith(key_ids[caller])]
        expect(len(line) == 1, repr(out.stdout))
        state = {"revoked": "revoked", "expired": "expired"}.get(caller, "active")
        expect(" %s " % state in line[0], repr(line[0]))


def test_key_cli_refuses_bad_input():
    for args in (["--key-create", "x", "--role", "root"],
                 ["--key-create", "", "--role", "admin"],
                 ["--key-revoke", "nope"],
                 ["--key-revoke", "0" * 24]):
        out = subprocess.run([BIN, "--config", stack.config_path] + args,
                             capture_output=True, text=True, timeout=60, env=stack.env())
        expect(out.returncode != 0 and out.stdout == "", "%r: %r" % (args, out))
        expect("bandpics:" in out.stderr, repr(out.stderr))


def create_group(caller, name="g"):
    resp = stack.post("/image_groups", {"group": {"name": name}}, headers=auth(caller))
    expect_status(resp, 201)
    return resp.json


def upload(caller, group=None):
    path = "/images?filename=a.jpg" + ("&group=" + group if group else "")
    resp = stack.post(path, JPEG, headers=dict(auth(caller), **{"Content-Type": "image/jpeg"}))
    expect_status(resp, 201)
    return resp.json


def expected_write(caller, owned_by_owner=True):
    """The status a write on a record of "owner" gets from caller."""
    if caller in ("anonymous", "revoked", "expired"):
        return 401
    if caller == "reader":
        return 403
    if caller == "other" and owned_by_owner:
        return 403
    return None  # allowed


def check_refusal(resp, status, caller):
    body = expect_error(resp, status)
    expect(resp.reason == {401: "Unauthorized", 403: "Forbidden"}[status], repr(resp.reason))
    if status == 401:
        challenge = resp.header("www-authenticate") or ""
        expect(challenge.startswith("Bearer"), repr(challenge))
        if caller in ("revoked", "expired"):
            expect(body["detail"] == "invalid token", repr(body))
            expect('error="invalid_token"' in challenge, repr(challenge))
        else:
            expect("invalid_token" not in challenge, repr(challenge))


def write_cases():
    """(name, function(caller, group, image) -> response, allowed status)."""
    def patch_group(caller, g, i):
        return stack.patch("/image_groups/" + g["id"], {"name": "renamed"}, headers=auth(caller))

    def delete_group(caller, g, i):
        return stack.delete("/image_groups/" + g["id"], headers=auth(caller))

    def add_images(caller, g, i):
        ctype, body = multipart(files=[("images", "b.jpg", JPEG, "image/jpeg")])
        return stack.post("/images/" + g["id"], body,
                          headers=dict(auth(caller), **{"Content-Type": ctype}))

    def ask_upload_urls(caller, g, i):
        return stack.post("/images/" + g["id"], {"images": ["c.jpg"]}, headers=auth(caller))

    def upload_into_group(caller, g, i):
        return stack.post("/images?filename=d.jpg&group=" + g["id"], JPEG,
                          headers=dict(auth(caller), **{"Content-Type": "image/jpeg"}))

    def patch_image(caller, g, i):
        return stack.patch("/images/" + i["id"], {"description": "x"}, headers=auth(caller))

    def replace_file(caller, g, i):
        return stack.patch("/images/%s/file" % i["id"], JPEG,
                           headers=dict(auth(caller), **{"Content-Type": "image/jpeg"}))

    def complete(caller, g, i):
        return stack.post("/images/%s/complete" % i["id"], b"", headers=auth(caller))

    def delete_image(caller, g, i):
        return stack.delete("/images/" + i["id"], headers=auth(caller))

    return [("PATCH /image_groups/{id}", patch_group, 200),
            ("DELETE /image_groups/{id}", delete_group, 200),
            ("POST /images/{group_id} multipart", add_images, 201),
            ("POST /images/{group_id} JSON", ask_upload_urls, 201),
            ("POST /images?group=", upload_into_group, 201),
            ("PATCH /images/{id}", patch_image, 200),
            ("PATCH /images/{id}/file", replace_file, 200),
            ("POST /images/{id}/complete", complete, 200),
            ("DELETE /images/{id}", delete_image, 200)]


def test_writes_table():
    failures = []
    for name, call, allowed in write_cases():
        for caller in CALLERS:
            group = create_group("owner", "for " + name)
            image = upload("owner", group["id"])
            before = snapshot()
            resp = call(caller, group, image)
            refused = expected_write(caller)
            try:
                if refused is None:
                    expect_status(resp, allowed)
                else:
                    check_refusal(resp, refused, caller)
                    expect(snapshot() == before, "a refused write changed something")
            except AssertionError as e:
                failures.append("%s as %s: %s" % (name, caller, e))
    expect(not failures, "\n".join(failures))


def test_creating_needs_contributor():
    failures = []
    for caller in CALLERS:
        before = snapshot()
        ctype, body = multipart(fields=[("name", "multi")],
                                files=[("images", "e.jpg", JPEG, "image/jpeg")])
        calls = [stack.post("/image_groups", {"group": {"name": "json"}}, headers=auth(caller)),
                 stack.post("/image_groups", body,
                            headers=dict(auth(caller), **{"Content-Type": ctype})),
                 stack.post("/image_groups", {"group": {"name": "d", "images": ["f.jpg"]}},
                            headers=auth(caller)),
                 stack.post("/images?filename=g.jpg", JPEG,
                            headers=dict(auth(caller), **{"Content-Type": "image/jpeg"}))]
        refused = expected_write(caller, owned_by_owner=False)
        for resp in calls:
            try:
                if refused is None:
                    expect_status(resp, 201)
                    made = resp.json
                    owner = made.get("owner")
                    if owner is not None:
                        expect(owner == owner_ids[caller], "owner %r" % owner)
                else:
                    check_refusal(resp, refused, caller)
            except AssertionError as e:
                failures.append("create as %s: %s" % (caller, e))
        if refused is not None and snapshot() != before:
            failures.append("create as %s changed something" % caller)
    expect(not failures, "\n".join(failures))


def test_owner_recorded_and_shown():
    group = create_group("other", "theirs")
    expect(group["owner"] == owner_ids["other"], repr(group))
    expect(group["location"] == "public", repr(group))
    image = upload("other", group["id"])
    expect(image["owner"] == owner_ids["other"], repr(image))
    got = stack.get("/image_groups/" + group["id"])
    expect_status(got, 200)
    expect(got.json["owner"] == owner_ids["other"] and
           got.json["images"][0]["owner"] == owner_ids["other"], repr(got))
    # An admin changes anyone's; the owner stays.
    resp = stack.patch("/image_groups/" + group["id"], {"location": "hidden"},
                       headers=auth("admin"))
    expect_status(resp, 200)
    expect(resp.json["owner"] == owner_ids["other"] and resp.json["location"] == "hidden",
           repr(resp))


def test_moving_an_image_needs_both_groups():
    mine = create_group("owner", "mine")
    theirs = create_group("other", "theirs")
    image = upload("owner", mine["id"])
    before = snapshot()
    resp = stack.patch("/images/" + image["id"], {"group": theirs["id"]}, headers=auth("owner"))
    check_refusal(resp, 403, "owner")
    expect(snapshot() == before, "a refused move changed something")
    resp = stack.patch("/images/" + image["id"], {"group": theirs["id"]}, headers=auth("admin"))
    expect_status(resp, 200)


def reads(group, image):
    return ["/", "/healthz", "/image_groups", "/image_groups/" + group["id"], "/images",
            "/images/" + image["id"], "/images/%s/thumb" % image["id"],
            "/images/%s/fullsize" % image["id"], "/images/%s/file" % image["id"]]


def test_reads_in_writes_mode():
    group = create_group("owner", "read me")
    image = upload("owner", group["id"])
    failures = []
    for path in reads(group, image):
        for caller in CALLERS:
            resp = stack.get(path, headers=auth(caller))
            want = 401 if caller in ("revoked", "expired") and path not in ("/", "/healthz") \
                else 200
            if resp.status != want:
                failures.append("GET %s as %s: %r" % (path, caller, resp))
            if resp.header("x-content-type-options") != "nosniff":
                failures.append("GET %s: no nosniff" % path)
    expect(not failures, "\n".join(failures))


def test_reads_in_required_mode():
    group = create_group("owner", "required")
    image = upload("owner", group["id"])
    restart("required")
    try:
        failures = []
        for path in reads(group, image):
            for caller in CALLERS:
                resp = stack.get(path, headers=auth(caller))
                public = path in ("/", "/healthz")
                want = 200 if public or caller not in ("anonymous", "revoked", "expired") \
                    else 401
                if resp.status != want:
                    failures.append("GET %s as %s: %r" % (path, caller, resp))
        expect(not failures, "\n".join(failures))
    finally:
        restart("writes")


def test_off_mode_lets_anyone_write_and_warns():
    restart("off")
    try:
        resp = stack.post("/image_groups", {"group": {"name": "open"}})
        expect_status(resp, 201)
        expect(resp.json["owner"] is None, repr(resp))
        legacy = resp.json
        resp = stack.delete("/image_groups/" + legacy["id"])
        expect_status(resp, 200)
        expect("auth_mode = off" in stack.read_logs(), "no warning at start")
    finally:
        restart("writes")


def test_records_without_owner_are_admins():
    restart("off")
    try:
        legacy = stack.post("/image_groups", {"group": {"name": "legacy"}}).json
    finally:
        restart("writes")
    before = snapshot()
    for caller in ("owner", "other", "reader"):
        resp = stack.patch("/image_groups/" + legacy["id"], {"name": "mine now"},
                           headers=auth(caller))
        check_refusal(resp, 403, caller)
    expect(snapshot() == before, "a refused write changed a legacy group")
    resp = stack.patch("/image_groups/" + legacy["id"], {"name": "admin's"},
                       headers=auth("admin"))
    expect_status(resp, 200)


def test_malformed_credentials_are_401():
    long_token = "Bearer " + "a" * 9000
    for header in ("Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer bpk_short",
                   "Bearer bpk_" + "0" * 88, "Bearer not.a.jwt", "Bearer a.b.c",
                   keys["admin"], long_token):
        resp = stack.post("/image_groups", {"group": {"name": "x"}},
                          headers={"Authorization": header})
        body = expect_error(resp, 401)
        if header not in ("Bearer", "Bearer "):
            expect(body["detail"] == "invalid token", "%r: %r" % (header[:40], body))
    # A key with one digit of its secret changed.
    key = keys["admin"]
    wrong = key[:-1] + ("0" if key[-1] != "0" else "1")
    resp = stack.get("/image_groups", headers={"Authorization": "Bearer " + wrong})
    expect_error(resp, 401, "invalid token")


def test_revoking_takes_effect_at_once():
    key = make_key("short-lived", "admin")
    resp = stack.post("/image_groups", {"group": {"name": "before"}},
                      headers={"Authorization": "Bearer " + key})
    expect_status(resp, 201)
    run_cli("--key-revoke", key[4:28])
    resp = stack.post("/image_groups", {"group": {"name": "after"}},
                      headers={"Authorization": "Bearer " + key})
    expect_error(resp, 401, "invalid token")
    again = run_cli("--key-revoke", key[4:28])
    expect("revoked already" in again.stdout, repr(again.stdout))


def test_writes_are_rate_limited_with_json_429():
    own = Stack(name="ratelimit", config={"auth_mode": "writes"})
    try:
        own.start_pool()
        own.start_nginx(env={"BANDPICS_WRITE_RATE": "1r/s", "BANDPICS_WRITE_BURST": "3"})
        statuses = []
        for _ in range(20):
            resp = own.post("/image_groups", {"group": {"name": "x"}})
            statuses.append(resp.status)
            if resp.status == 429:
                expect_error(resp, 429, "Too many requests")
                expect(resp.header("retry-after") == "1", repr(resp.headers))
        expect(statuses.count(429) >= 10, repr(statuses))
        expect(set(statuses) <= {401, 429}, repr(statuses))
        # Reads are never limited.
        reads = [own.get("/image_groups").status for _ in range(20)]
        expect(reads == [200] * 20, repr(reads))
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


def test_hidden_location_shows_positions_only_to_owners_and_admins():
    gps = with_exif(JPEG, exif_block(make="Canon", lat=48.8584, lon=2.2945))
    group = stack.post("/image_groups", {"group": {"name": "secret gig", "location": "hidden"}},
                       headers=auth("owner"))
    expect_status(group, 201)
    group = group.json
    expect(group["location"] == "hidden", repr(group))
    resp = stack.post("/images?filename=eiffel.jpg&group=" + group["id"], gps,
                      headers=dict(auth("owner"), **{"Content-Type": "image/jpeg"}))
    expect_status(resp, 201)
    image = resp.json
    expect("coords" in image["data"], "the owner's upload answer lacks coords")
    near = "/images?near=48.8584,2.2945&radius=1000"
    bbox = "/images?bbox=2.2,48.8,2.4,48.9"

    def sees(caller):
        one = stack.get("/images/" + image["id"], headers=auth(caller))
        grp = stack.get("/image_groups/" + group["id"], headers=auth(caller))
        lst = stack.get("/image_groups?limit=500", headers=auth(caller))
        all_images = stack.get("/images?limit=500", headers=auth(caller))
        for resp in (one, grp, lst, all_images):
            expect_status(resp, 200)
            expect(resp.header("vary") == "Authorization", repr(resp.headers))
            expect(resp.header("cache-control") == "private", repr(resp.headers))
        listed = [g for g in lst.json if g["id"] == group["id"]][0]
        listed_image = [i for i in all_images.json if i["id"] == image["id"]][0]
        shown = ["coords" in one.json["data"], "coords" in grp.json["images"][0]["data"],
                 "coords" in listed["images"][0]["data"], "coords" in listed_image["data"]]
        expect(len(set(shown)) == 1, "%s: coords in some answers only: %r" % (caller, shown))
        found = [[i["id"] for i in stack.get(q, headers=auth(caller)).json] for q in (near, bbox)]
        expect(found[0] == found[1], "%s: near and bbox disagree: %r" % (caller, found))
        expect((image["id"] in found[0]) == shown[0],
               "%s: a place filter %s what the JSON %s" %
               (caller, "finds" if image["id"] in found[0] else "misses",
                "shows" if shown[0] else "hides"))
        expect(one.json["data"].get("Make") == "Canon", "other EXIF values must stay")
        return shown[0]

    for caller, want in (("anonymous", False), ("reader", False), ("other", False),
                         ("owner", True), ("admin", True)):
        expect(sees(caller) == want, "%s sees coords: %r" % (caller, not want))
    # The owner makes it public: everyone sees.
    resp = stack.patch("/image_groups/" + group["id"], {"location": "public"},
                       headers=auth("owner"))
    expect_status(resp, 200)
    for caller in ("anonymous", "other"):
        expect(sees(caller), "%s does not see a public group's coords" % caller)


def test_originals_lose_gps_for_all_but_owner_and_admins():
    block = exif_block(make="Nikon", lat=51.5007, lon=-0.1246, alt=12.0)
    jpeg = with_exif(JPEG, block)
    png = png_with_exif(make_image(40, 30, "png"), block)
    webp = webp_with_exif(make_image(40, 30, "webp"), block, 40, 30)
    plain = make_image(40, 30, "jpg")
    latitude = _dms(51.5007)  # the GPSLatitude value's bytes
    expect(all(latitude in data for data in (jpeg, png, webp)), "test files lack GPS")
    uploaded = {}
    for name, data, ctype in (("gps.jpg", jpeg, "image/jpeg"), ("gps.png", png, "image/png"),
                              ("gps.webp", webp, "image/webp"),
                              ("plain.jpg", plain, "image/jpeg")):
        resp = stack.post("/images?filename=" + name, data,
                          headers=dict(auth("owner"), **{"Content-Type": ctype}))
        expect_status(resp, 201)
        uploaded[name] = (resp.json, data)
    for name in ("gps.jpg", "gps.png"):
        expect("coords" in uploaded[name][0]["data"], "%s: no position read" % name)
    for caller in ("owner", "admin"):
        for name, (image, data) in uploaded.items():
            resp = stack.get("/images/%s/file" % image["id"], headers=auth(caller))
            expect_status(resp, 200)
            expect(resp.body == data, "%s gets %s changed" % (caller, name))
    for caller in ("anonymous", "reader", "other"):
        for name, (image, data) in uploaded.items():
            resp = stack.get("/images/%s/file" % image["id"], headers=auth(caller))
            expect_status(resp, 200)
            expect(resp.header("cache-control").startswith("private"), repr(resp.headers))
            got = resp.body
            if name == "plain.jpg":
                expect(got == data, "a file without GPS data was changed")
                continue
            expect(got != data and len(got) == len(data), "%s: %s not rewritten in place" %
                   (caller, name))
            expect(latitude not in got, "%s: the latitude is still in %s" % (caller, name))
            if name.endswith(".jpg"):
                expect(jpeg_scan(got) == jpeg_scan(data), "the JPEG's scan data changed")
            elif name.endswith(".png"):
                expect(png_chunks(got, b"IDAT") == png_chunks(data, b"IDAT"),
                       "the PNG's image data changed")
            else:
                image_data = webp_chunks(data, b"VP8 ") + webp_chunks(data, b"VP8L")
                expect(image_data and image_data == webp_chunks(got, b"VP8 ") +
                       webp_chunks(got, b"VP8L"), "the WebP's image data changed")
                continue  # ImageMagick 6 does not read a WebP's EXIF back
            # What our EXIF reader finds in the served file: no position.
            back = stack.post("/images?filename=back-" + name, got,
                              headers=dict(auth("admin"),
                                           **{"Content-Type": "image/" + name[-3:].replace(
                                               "jpg", "jpeg")}))
            expect_status(back, 201)
            expect("coords" not in back.json["data"], "%s still has coords" % name)
            expect(back.json["data"].get("Make") == "Nikon", "other EXIF values must stay")


def json_lines(path):
    with open(path, errors="replace") as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError("%s: not a JSON line: %r" % (os.path.basename(path), line))
    return parsed


def test_originals_whose_gps_cannot_be_removed_are_refused_to_others():
    block = exif_block(make="Nikon", lat=51.5007, lon=-0.1246)
    png = png_with_compressed_exif(make_image(40, 30, "png"), block)
    resp = stack.post("/images?filename=zipped.png", png,
                      headers=dict(auth("owner"), **{"Content-Type": "image/png"}))
    expect_status(resp, 201)
    image = resp.json
    for caller in ("owner", "admin"):
        got = stack.get("/images/%s/file" % image["id"], headers=auth(caller))
        expect_status(got, 200)
        expect(got.body == png, "%s does not get the upload" % caller)
    for caller in ("anonymous", "other"):
        got = stack.get("/images/%s/file" % image["id"], headers=auth(caller))
        expect_error(got, 403, "/images/%s/fullsize" % image["id"])
        full = stack.get("/images/%s/fullsize" % image["id"], headers=auth(caller))
        expect_status(full, 200)
        expect(_dms(51.5007) not in full.body, "the fullsize carries GPS")


def test_requests_and_changes_are_logged_as_json():
    resp = stack.post("/image_groups", {"group": {"name": "logged"}}, headers=auth("owner"))
    expect_status(resp, 201)
    request_id = resp.header("x-request-id")
    group_id = resp.json["id"]
    urls = stack.post("/images/" + group_id, {"images": ["up.jpg"]}, headers=auth("owner"))
    expect_status(urls, 201)
    upload_url = urls.json["added_images"][0]["presigned_url"]
    token = upload_url.rsplit("/", 1)[1]
    put = stack.request("PUT", "/uploads/" + token, JPEG, headers={"Content-Type": "image/jpeg"})
    expect_status(put, 200)
    stack.get("/image_groups/" + group_id)
    lines = []
    for name in sorted(os.listdir(stack.dir)):
        if name.startswith("pool-") and name.endswith(".log"):
            lines += json_lines(os.path.join(stack.dir, name))
    requests = [l for l in lines if l.get("type") == "request" and
                l.get("request_id") == request_id]
    expect(len(requests) == 1, "request lines: %r" % requests)
    r = requests[0]
    expect(r["method"] == "POST" and r["route"] == "/image_groups" and r["status"] == 201 and
           r["principal"] == owner_ids["owner"] and r["bytes_in"] > 0 and r["bytes_out"] > 0 and
           r["ms"] >= 0 and r["level"] == "info" and r["time"].endswith("Z"), repr(r))
    changes = [l for l in lines if l.get("type") == "change" and l.get("id") == group_id]
    expect(len(changes) == 1 and changes[0]["action"] == "created" and
           changes[0]["kind"] == "group" and changes[0]["request_id"] == request_id and
           changes[0]["principal"] == owner_ids["owner"], repr(changes))
    routes = {l.get("route") for l in lines if l.get("type") == "request"}
    expect("/uploads/{token}" in routes, repr(routes))
    gets = [l for l in lines if l.get("type") == "request" and l.get("method") == "GET"]
    expect(gets and all(l["bytes_in"] == 0 for l in gets), "GET bytes_in: %r" % gets[-1:])
    expect(all(token not in json.dumps(l) for l in lines), "an upload token is in the pool log")
    access = json_lines(os.path.join(stack.dir, "nginx-access.log"))
    mine = [l for l in access if l["request_id"] == request_id]
    expect(len(mine) == 1 and mine[0]["status"] == 201 and mine[0]["uri"] == "/image_groups",
           repr(mine))
    expect(any(l["uri"] == "/uploads/{token}" for l in access), "no upload in the access log")
    expect(all(token not in json.dumps(l) for l in access), "an upload token is in the access log")


def test_no_secret_in_logs():
    stack.stop()
    text = stack.read_logs()
    for name in os.listdir(stack.dir):
        if name.endswith(".log"):
            with open(os.path.join(stack.dir, name), errors="replace") as f:
                text += f.read()
    for caller, key in keys.items():
        expect(key[28:] not in text, "the secret of %s is in a log" % caller)
        expect(key not in text, "the key of %s is in a log" % caller)
    expect("Authorization" not in text, "an Authorization header was logged")


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_key_list_never_shows_secrets, test_key_cli_refuses_bad_input,
          test_writes_table, test_creating_needs_contributor, test_owner_recorded_and_shown,
          test_moving_an_image_needs_both_groups, test_reads_in_writes_mode,
          test_reads_in_required_mode, test_off_mode_lets_anyone_write_and_warns,
          test_records_without_owner_are_admins, test_malformed_credentials_are_401,
          test_revoking_takes_effect_at_once, test_writes_are_rate_limited_with_json_429,
          test_hidden_location_shows_positions_only_to_owners_and_admins,
          test_originals_lose_gps_for_all_but_owner_and_admins,
          test_originals_whose_gps_cannot_be_removed_are_refused_to_others,
          test_requests_and_changes_are_logged_as_json,
          test_no_secret_in_logs, test_stop_cleanly])
