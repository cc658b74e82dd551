"""test_web_client.py: the earlier version's web client, unchanged,
against the API through a real nginx and the pool (embedded default).

Each call is made as that Next.js client makes it: from another origin
(preflights, then the request with Origin), with
Authorization: Bearer <Cognito access token> on writes (the test plays
the Cognito user pool, as test_auth_jwt.py does), its request bodies
(images: [] on a group edit and on a group without photos), PUTs of the
files to the upload URLs followed only by reads of the group, the events
route, whole lists without ?limit=, and revalidation with If-None-Match.
"""
import time
import urllib.parse

from direct_uploads import GPS_JPEG, JPEG, fetch, http_request, put_file
from harness import Stack, expect, expect_error, expect_status, main
from images import multipart
from test_auth_jwt import CLIENT, ISSUER, Issuer

ORIGIN = "https://bandpics.example"
OTHER_ORIGIN = "https://elsewhere.example"

stack = None
issuer = None
tokens = {}
# The blob store: None for the embedded default (local files); the
# s3rver of test_web_client_s3.py when that runs this suite on S3.
s3 = None


def as_user(name, origin=ORIGIN, **extra):
    headers = {"Authorization": "Bearer " + tokens[name]}
    if origin:
        headers["Origin"] = origin
    headers.update(extra)
    return headers


def test_start():
    global stack, issuer
    issuer = Issuer()
    issuer.add_rsa("rsa1")
    tokens["alice"] = issuer.token("rsa1", sub="alice", groups=["contributor"],
                                   exp=int(time.time()) + 7200)
    tokens["bob"] = issuer.token("rsa1", sub="bob", groups=["contributor"],
                                 exp=int(time.time()) + 7200)
    tokens["admin"] = issuer.token("rsa1", sub="organizer", groups=["admin"],
                                   exp=int(time.time()) + 7200)
    stack = Stack(name="webclient-s3" if s3 else "webclient")
    # The README's configuration for the client, on loopback (the issuer's
    # keys from the test's JWKS instead of Cognito's).
    config = {
        "auth_mode": "writes", "auth_issuer": ISSUER, "auth_audience": CLIENT,
        "auth_token_use": "access", "auth_contributor_roles": "contributor, photographers",
        "auth_jwks_url": "http://127.0.0.1:%d/jwks.json" % issuer.port,
        "cors_origins": ORIGIN, "api_base_url": "http://127.0.0.1:%d" % stack.port}
    if s3:
        config.update(s3.config(prefix="client"))
    stack.write_config(config)
    stack.start_pool()
    stack.start_nginx(env={"BANDPICS_CORS_ORIGINS": ORIGIN})


def cors_ok(resp, what):
    expect(resp.header("access-control-allow-origin") == ORIGIN,
           "%s: Access-Control-Allow-Origin %r" % (what, resp.headers))
    expect("Origin" in (resp.header("vary") or ""), "%s: Vary %r" % (what, resp.header("vary")))
    exposed = resp.header("access-control-expose-headers") or ""
    for name in ("ETag", "Location", "X-Total-Count", "Link", "X-Request-Id"):
        expect(name in exposed, "%s: %s not exposed: %r" % (what, name, exposed))


def preflight(path, method, headers="authorization,content-type", origin=ORIGIN):
    return stack.request("OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def test_preflights_and_cors_headers():
    gid = stack.post("/image_groups", {"group": {"name": "cors"}}, headers=as_user("alice"))
    expect_status(gid, 201)
    cors_ok(gid, "POST /image_groups")
    gid = gid.json["group_id"]
    for path, method in (("/images/" + gid, "POST"), ("/images/%s/file" % ("0" * 24), "PATCH"),
                         ("/image_groups/" + gid, "PATCH"), ("/uploads/abc.1.def", "PUT"),
                         ("/images", "GET")):
        resp = preflight(path, method)
        expect_status(resp, 204)
        expect(resp.header("access-control-allow-origin") == ORIGIN, repr(resp.headers))
        expect(method in resp.header("access-control-allow-methods"), repr(resp.headers))
        allowed = resp.header("access-control-allow-headers").lower()
        expect("authorization" in allowed and "content-type" in allowed, repr(resp.headers))
        expect(int(resp.header("access-control-max-age")) > 0, repr(resp.headers))
    # Errors carry the headers too: the worker's and nginx's own.
    missing = stack.get("/images/" + "0" * 24, headers={"Origin": ORIGIN})
    expect_error(missing, 404)
    cors_ok(missing, "404")
    refused = stack.request("TRACE", "/image_groups", headers={"Origin": ORIGIN})
    expect_error(refused, 405)
    expect(refused.header("access-control-allow-origin") == ORIGIN, repr(refused.headers))
    # An origin not allowed gets no CORS header at all.
    for resp in (preflight("/images/" + gid, "POST", origin=OTHER_ORIGIN),
                 stack.get("/image_groups", headers={"Origin": OTHER_ORIGIN})):
        expect(not any(h.startswith("access-control-") for h in resp.headers), repr(resp.headers))


def test_group_edit_and_create_bodies():
    # A group without photos, as the client creates it.
    resp = stack.post("/image_groups", {"group": {"name": "No photos yet", "description": "",
                                                  "event": None, "images": []}},
                      headers=as_user("alice"))
    expect_status(resp, 201)
    out = resp.json
    expect(out["images"] == [] and out["group_id"] and out["name"] == "No photos yet", repr(out))
    # Its edit form always sends images: [].
    edit = {"group": {"name": "Renamed", "description": "set 2", "images": [], "event": None}}
    resp = stack.patch("/image_groups/" + out["group_id"], edit, headers=as_user("alice"))
    expect_status(resp, 200)
    expect(resp.json["name"] == "Renamed" and resp.json["description"] == "set 2", repr(resp))
    edit["group"]["images"] = ["a.jpg"]
    expect_error(stack.patch("/image_groups/" + out["group_id"], edit, headers=as_user("alice")),
                 422, "POST /images/{group_id}")


def test_uploads_finish_by_themselves():
    group = stack.post("/image_groups", {"group": {"name": "Gig", "images": ["one.jpg"]}},
                       headers=as_user("alice")).json
    more = stack.post("/images/" + group["group_id"], {"images": ["two.jpg"]},
                      headers=as_user("alice"))
    expect_status(more, 201)
    items = group["images"] + more.json["added_images"]
    for item, data in zip(items, (GPS_JPEG, JPEG)):
        # The browser's PUT: a preflight, then the file, from the origin
        # (to S3 itself with S3 storage, whose CORS is the bucket's).
        if not s3:
            expect_status(preflight(urllib.parse.urlsplit(item["presigned_url"]).path,
                                    "PUT", "content-type"), 204)
        status, headers, _ = http_request(item["presigned_url"], "PUT", data,
                                          {"Content-Type": item["type"], "Origin": ORIGIN})
        expect(status == 200, "PUT answered %d" % status)
        allowed = {k.lower(): v for k, v in dict(headers).items()}
        expect(s3 or allowed.get("access-control-allow-origin") == ORIGIN, repr(headers))
    # The client waits about 1.5 s, then reads the group: all ready.
    t = time.monotonic()
    got = stack.get("/image_groups/" + group["group_id"], headers={"Origin": ORIGIN})
    expect(time.monotonic() - t < 2, "reading the group took too long")
    images = {i["filename"]: i for i in got.json["images"]}
    expect(set(images) == {"one.jpg", "two.jpg"}, repr(images))
    expect(all(i["status"] == "ready" for i in images.values()), repr(images))
    expect(images["one.jpg"]["data"].get("Make") == "Nikon", repr(images["one.jpg"]))
    # A replaced photo shows its new name and data at once.
    repl = stack.patch("/images/%s/file" % images["one.jpg"]["id"], {"image": "three.jpg"},
                       headers=as_user("alice"))
    expect_status(repl, 200)
    expect(put_file(repl.json, JPEG)[0] == 200)
    got = stack.get("/image_groups/" + group["group_id"]).json
    names = sorted(i["filename"] for i in got["images"])
    expect(names == ["three.jpg", "two.jpg"], repr(names))
    three = [i for i in got["images"] if i["filename"] == "three.jpg"][0]
    expect("Make" not in three["data"] and three["status"] == "ready", repr(three))


def test_files_where_the_client_looks_and_unique_names():
    def new_group(name, files):
        out = stack.post("/image_groups", {"group": {"name": name, "images": files}},
                         headers=as_user("alice")).json
        for item in out["images"]:
            expect(put_file(item, GPS_JPEG)[0] == 200)
        return out

    # The same name twice in one request, and again in a later one.
    first = new_group("names", ["DSCN0010.jpg", "DSCN0010.jpg"])
    names = [i["filename"] for i in first["images"]]
    expect(names == ["DSCN0010.jpg", "DSCN0010-1.jpg"], repr(names))
    more = stack.post("/images/" + first["group_id"], {"images": ["DSCN0010.jpg"]},
                      headers=as_user("alice")).json["added_images"]
    expect(more[0]["filename"] == "DSCN0010-2.jpg", repr(more))
    expect(put_file(more[0], JPEG)[0] == 200)
    gid = first["group_id"]
    group = stack.get("/image_groups/" + gid).json
    stored = sorted(i["filename"] for i in group["images"])
    expect(stored == ["DSCN0010-1.jpg", "DSCN0010-2.jpg", "DSCN0010.jpg"], repr(stored))
    # Where the client looks: the same bytes as the API's own file routes.
    for image in group["images"]:
        for variant, route in (("thumb", "thumb"), ("fullsize", "fullsize"),
                               ("original", "file")):
            # Through the API (a file, or S3's redirect), as a browser does.
            named = fetch(stack, "/%s/%s/%s" % (variant, gid, image["filename"]))
            own = fetch(stack, "/images/%s/%s" % (image["id"], route))
            expect(named == own, "%s/%s differs" % (variant, image["filename"]))
            if variant == "original":  # others get it without GPS data
                expect(named != GPS_JPEG or image["filename"] == "DSCN0010-2.jpg",
                       "the original kept its GPS data for an anonymous reader")
    expect_error(stack.get("/thumb/%s/nothing.jpg" % gid), 404, "nothing.jpg")
    expect_error(stack.get("/thumb/%s/DSCN0010.jpg" % ("0" * 24)), 404)
    # A replacement named like another photo of the group keeps a name
    # of its own; a photo moved into the group too.
    second = [i for i in group["images"] if i["filename"] == "DSCN0010-1.jpg"][0]
    repl = stack.patch("/images/%s/file" % second["id"], {"image": "DSCN0010.jpg"},
                       headers=as_user("alice")).json
    expect(repl["filename"] == "DSCN0010-1.jpg", repr(repl))
    expect(put_file(repl, JPEG)[0] == 200)
    other = new_group("elsewhere", ["DSCN0010.jpg"])
    moved = stack.patch("/images/" + other["images"][0]["id"], {"group": gid},
                        headers=as_user("alice"))
    expect_status(moved, 200)
    expect(moved.json["filename"] == "DSCN0010-3.jpg", repr(moved.json))
    expect(fetch(stack, "/thumb/%s/DSCN0010-3.jpg" % gid)[:2] == b"\xff\xd8",
           "no JPEG at the moved photo's path")
    # Files sent through the API itself follow the same rule.
    ctype, body = multipart(files=[("images", "DSCN0010.jpg", JPEG, "image/jpeg"),
                                   ("images", "DSCN0010.jpg", JPEG, "image/jpeg")])
    added = stack.post("/images/" + gid, body,
                       headers=as_user("alice", **{"Content-Type": ctype}))
    expect_status(added, 201)
    expect([i["filename"] for i in added.json["added_images"]] ==
           ["DSCN0010-4.jpg", "DSCN0010-5.jpg"], repr(added.json))


def test_events_route_detaches_groups():
    event = "65f0a1b2c3d4e5f6a7b8c9d0"
    ids = []
    for user in ("alice", "bob", "bob"):
        resp = stack.post("/image_groups", {"group": {"name": "at the event", "event": event}},
                          headers=as_user(user))
        expect_status(resp, 201)
        ids.append(resp.json["group_id"])
    # As the client calls it when an event is deleted: no body.
    resp = stack.patch("/events/%s/image_groups" % event, None, headers=as_user("admin"))
    expect_status(resp, 200)
    expect(resp.json == {"acknowledged": True, "modified_count": 3}, repr(resp.json))
    cors_ok(resp, "PATCH /events")
    for gid in ids:
        expect(stack.get("/image_groups/" + gid).json["event"] is None, "event kept")
    resp = stack.patch("/events/%s/image_groups" % event, None, headers=as_user("admin"))
    expect(resp.json == {"acknowledged": True, "modified_count": 0}, repr(resp.json))
    expect_error(stack.patch("/events/%s/image_groups" % event, None), 401)
    expect_error(stack.patch("/events/nope/image_groups", None, headers=as_user("admin")), 422)


def test_whole_lists_without_limit():
    for i in range(120):
        expect_status(stack.post("/image_groups", {"group": {"name": "many %d" % i}},
                                 headers=as_user("bob")), 201)
    resp = stack.get("/image_groups", headers={"Origin": ORIGIN})
    expect_status(resp, 200)
    total = int(resp.header("x-total-count"))
    expect(total >= 120 and len(resp.json) == total, "%d of %d" % (len(resp.json), total))
    expect(resp.header("link") is None, "a Link with nothing more")
    resp = stack.get("/images")
    expect(len(resp.json) == int(resp.header("x-total-count")), "images cut")


def test_revalidation_answers_304():
    for path in ("/image_groups", "/images", "/"):
        first = stack.get(path, headers={"Origin": ORIGIN})
        etag = first.header("etag")
        expect(etag and etag.startswith('"'), "%s: ETag %r" % (path, etag))
        again = stack.get(path, headers={"Origin": ORIGIN, "If-None-Match": etag})
        expect(again.status == 304 and again.body == b"", "%s: %r" % (path, again))
        expect(again.header("etag") == etag, repr(again.headers))
        cors_ok(again, "304 " + path)
    before = stack.get("/image_groups").header("etag")
    stack.post("/image_groups", {"group": {"name": "changes the list"}}, headers=as_user("bob"))
    after = stack.get("/image_groups", headers={"If-None-Match": before})
    expect_status(after, 200)
    expect(after.header("etag") != before, "the ETag did not change")


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()
    issuer.stop()


TESTS = [test_start, test_preflights_and_cors_headers, test_group_edit_and_create_bodies,
          test_uploads_finish_by_themselves, test_files_where_the_client_looks_and_unique_names,
          test_events_route_detaches_groups,
          test_whole_lists_without_limit, test_revalidation_answers_304, test_stop_cleanly]

if __name__ == "__main__":
    main(TESTS)
