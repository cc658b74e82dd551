"""test_groups.py: the image-group API through a real nginx and the pool.

Every route, status and error of the group API, including the two ways a
body reaches a worker (as a file nginx wrote for POST /image_groups, in
the FastCGI stream for PATCH).
"""
import datetime
import json
import re
import secrets
import time

from harness import Stack, expect, expect_error, expect_status, main

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")

stack = None


def new_event():
    return secrets.token_hex(12)


def create(body, **kw):
    resp = stack.post("/image_groups", body, **kw)
    expect_status(resp, 201)
    return resp.json


def check_group_shape(g):
    expect(set(g) >= {"id", "name", "description", "event", "created_at",
                      "updated_at", "images"}, "keys: %r" % sorted(g))
    expect(HEX24.match(g["id"]), "id %r" % g["id"])
    expect(ISO_MS.match(g["created_at"]) and ISO_MS.match(g["updated_at"]), repr(g))
    expect(g["images"] == [], "images %r" % g["images"])


def test_start():
    global stack
    stack = Stack(name="groups").start()


def test_root_names_the_service():
    resp = stack.get("/")
    expect_status(resp, 200)
    expect(resp.json["service"] == "bandpics" and resp.json["version"], repr(resp))
    expect(resp.header("content-type") == "application/json")
    expect(resp.header("x-request-id"), "no X-Request-Id")


def test_healthz_ok():
    resp = stack.get("/healthz")
    expect_status(resp, 200)
    expect(resp.json["status"] == "ok" and resp.json["checks"]["store"] == "ok", repr(resp))


def test_create_wrapped_form():
    event = new_event()
    resp = stack.post("/image_groups", {"group": {"name": "Roxy", "description": "set 1",
                                                  "event": event.upper()}})
    expect_status(resp, 201)
    g = resp.json
    check_group_shape(g)
    expect(g["group_id"] == g["id"])
    expect((g["name"], g["description"], g["event"]) == ("Roxy", "set 1", event), repr(g))
    expect(g["created_at"] == g["updated_at"])
    expect(resp.header("location") == "/image_groups/" + g["id"], resp.header("location"))
    got = stack.get(resp.header("location"))
    expect_status(got, 200)
    expect(got.json == {k: v for k, v in g.items() if k != "group_id"}, repr(got))


def test_create_bare_form_and_defaults():
    g = create({"name": "Bare"})
    check_group_shape(g)
    expect(g["description"] is None and g["event"] is None, repr(g))
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    for body in ({}, {"group": {}}, {"name": None}, {"description": "only"}):
        g = create(body)
        expect(g["name"] == today, "default name %r" % g["name"])
    resp = stack.post("/image_groups")  # no body at all
    expect_status(resp, 201)
    expect(resp.json["name"] == today)


def test_create_accepts_json_with_charset_and_unicode():
    name = "Bühne — 東京 🎸"
    g = create('{"name": "%s"}' % name, headers={"Content-Type": "application/json; charset=utf-8"})
    expect(g["name"] == name, repr(g["name"]))


def test_create_name_length_limit():
    expect(create({"name": "é" * 200})["name"] == "é" * 200)
    expect_error(stack.post("/image_groups", {"name": "x" * 201}), 422, "name")


def test_create_rejects_invalid_fields():
    cases = [
        {"name": 5},
        {"name": ""},
        {"name": "   "},
        {"name": "tab\there"},
        {"name": ["a"]},
        {"description": 3},
        {"event": "nothex"},
        {"event": 12},
        {"event": "0" * 23},
        {"colour": "red"},
        {"id": "0" * 24},
        {"group": {"name": "a"}, "extra": 1},
        {"group": "a"},
        {"group": {"name": "a", "bogus": True}},
        ["a", "list"],
        "a string",
    ]
    for body in cases:
        expect_error(stack.post("/image_groups", json.dumps(body),
                                headers={"Content-Type": "application/json"}), 422)


def test_create_malformed_json_is_400():
    for text in ('{"name": ', '{"name": "a",}', "{'name': 'a'}", '{"name": "a"} x',
                 b'{"name": "\xff"}'):
        expect_error(stack.post("/image_groups", text,
                                headers={"Content-Type": "application/json"}), 400,
                     "Malformed JSON")


def test_create_wrong_content_type_is_415():
    expect_error(stack.post("/image_groups", "name=a",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415)
    expect_error(stack.post("/image_groups", '{"name":"a"}',
                            headers={"Content-Type": "text/plain"}), 415)


def test_create_body_over_json_limit_is_413():
    big = '{"name": "a", "description": "%s"}' % ("x" * (1024 * 1024 + 10))
    expect_error(stack.post("/image_groups", big,
                            headers={"Content-Type": "application/json"}), 413)
    expect_error(stack.patch("/image_groups/" + "a" * 24, big,
                             headers={"Content-Type": "application/json"}), 413)


def test_body_over_nginx_limit_is_json_413():
    # Announce 60 MB: nginx refuses from the header, before any body.
    _, head, body = stack.raw_request(
        b"POST /image_groups HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 62914560\r\n"
        b"Connection: close\r\n\r\n")
    expect(head.startswith(b"HTTP/1.1 413"), repr(head[:80]))
    expect(b"application/json" in head, repr(head))
    expect(b'"detail"' in body, repr(body))


def test_get_unknown_and_malformed_ids():
    expect_error(stack.get("/image_groups/" + "0" * 24), 404, "Group with that ID not found")
    expect(stack.get("/image_groups/" + "0" * 24).json == {"detail": "Group with that ID not found"})
    for bad in ("123", "z" * 24, "0" * 25, "%C3%A9" + "0" * 22):
        expect_error(stack.get("/image_groups/" + bad), 422)
    # nginx refuses an encoded NUL itself, with a JSON body too.
    expect_error(stack.get("/image_groups/%00" + "0" * 21), 400)


def test_list_newest_first_with_paging_headers():
    event = new_event()
    ids = []
    for i in range(5):
        ids.append(create({"name": "p%d" % i, "event": event})["id"])
        # Newest first is by creation time in milliseconds; two groups made
        # in the same millisecond by two workers are ordered by id only.
        time.sleep(0.003)
    resp = stack.get("/image_groups?event=%s&limit=2" % event)
    expect_status(resp, 200)
    expect([g["id"] for g in resp.json] == ids[::-1][:2], repr(resp.json))
    expect(resp.header("x-total-count") == "5")
    link = resp.header("link")
    expect(link == '</image_groups?limit=2&offset=2&event=%s>; rel="next"' % event, link)
    nxt = stack.get(link[1:link.index(">")])
    expect([g["id"] for g in nxt.json] == ids[::-1][2:4])
    last = stack.get("/image_groups?event=%s&limit=2&offset=4" % event)
    expect([g["id"] for g in last.json] == [ids[0]])
    expect(last.header("link") is None, "no next link on the last page")
    beyond = stack.get("/image_groups?event=%s&offset=50" % event)
    expect(beyond.json == [] and beyond.header("x-total-count") == "5")
    for g in resp.json:
        check_group_shape(g)


def test_list_default_limit_and_whole_list():
    for _ in range(3):
        create({"name": "filler"})
    resp = stack.get("/image_groups")
    expect_status(resp, 200)
    total = int(resp.header("x-total-count"))
    expect(isinstance(resp.json, list) and len(resp.json) == min(total, 1000))
    times = [g["created_at"] for g in resp.json]
    expect(times == sorted(times, reverse=True), "not newest first")


def test_list_rejects_bad_parameters():
    for query in ("limit=0", "limit=1001", "limit=abc", "limit=", "offset=-1",
                  "offset=1.5", "event=xyz", "limit=%ff"):
        expect_error(stack.get("/image_groups?" + query), 422)
    expect_status(stack.get("/image_groups?limit=1000"), 200)


def test_patch_wrapped_and_bare():
    event = new_event()
    g = create({"name": "Orig", "description": "d", "event": event})
    resp = stack.patch("/image_groups/" + g["id"], {"group": {"name": "Renamed"}})
    expect_status(resp, 200)
    p = resp.json
    expect((p["name"], p["description"], p["event"]) == ("Renamed", "d", event), repr(p))
    expect(p["created_at"] == g["created_at"] and p["updated_at"] > g["updated_at"], repr(p))
    resp = stack.patch("/image_groups/" + g["id"], {"event": None, "description": None})
    expect_status(resp, 200)
    expect((resp.json["name"], resp.json["event"], resp.json["description"]) ==
           ("Renamed", None, None), repr(resp.json))
    got = stack.get("/image_groups/" + g["id"]).json
    expect(got == resp.json, "GET after PATCH differs")


def test_patch_invalid_changes_nothing():
    g = create({"name": "Stable"})
    for body in ({"name": None}, {"name": ""}, {"event": "bad"}, {"nope": 1},
                 {"name": "x" * 201}):
        expect_error(stack.patch("/image_groups/" + g["id"], body), 422)
    expect_error(stack.patch("/image_groups/" + g["id"], "{",
                             headers={"Content-Type": "application/json"}), 400)
    expect_error(stack.patch("/image_groups/" + g["id"], "name=x",
                             headers={"Content-Type": "text/plain"}), 415)
    expect(stack.get("/image_groups/" + g["id"]).json["updated_at"] == g["updated_at"])
    expect_error(stack.patch("/image_groups/" + "0" * 24, {"name": "x"}), 404,
                 "Group with that ID not found")
    expect_error(stack.patch("/image_groups/xyz", {"name": "x"}), 422)


def test_delete_reports_and_removes():
    g = create({"name": "Doomed"})
    resp = stack.delete("/image_groups/" + g["id"])
    expect_status(resp, 200)
    expect(resp.json == {"image_group": {"id": g["id"], "name": "Doomed"},
                         "num_images": 0, "removed": []}, repr(resp.json))
    expect_error(stack.get("/image_groups/" + g["id"]), 404)
    expect_error(stack.delete("/image_groups/" + g["id"]), 404)
    expect_error(stack.delete("/image_groups/123"), 422)


def test_wrong_method_is_405_with_allow():
    resp = stack.request("PUT", "/image_groups/" + "0" * 24, body={"name": "x"})
    expect_error(resp, 405)
    expect(resp.header("allow") == "GET, HEAD, PATCH, DELETE", resp.header("allow"))
    resp = stack.delete("/image_groups")
    expect_error(resp, 405)
    expect(resp.header("allow") == "GET, HEAD, POST", resp.header("allow"))
    expect(stack.post("/healthz").header("allow") == "GET, HEAD")


def test_unknown_path_is_json_404():
    expect_error(stack.get("/nope"), 404)
    expect_error(stack.get("/image_groups/%s/extra" % ("0" * 24)), 404)


def test_head_and_trailing_slash():
    g = create({"name": "Head"})
    resp = stack.request("HEAD", "/image_groups/" + g["id"])
    expect_status(resp, 200)
    expect(resp.body == b"" and int(resp.header("content-length")) > 0, repr(resp))
    expect_status(stack.get("/image_groups/"), 200)
    expect_status(stack.get("/image_groups/%s/" % g["id"]), 200)


def test_nginx_errors_are_json_4xx():
    cases = [
        (b"GET /images?" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
         b" 414 "),
        (b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b" 405 "),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
         b"\r\nConnection: close\r\n\r\n", b" 400 "),
        (b"POST /image_groups HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
         b"Connection: close\r\n\r\n", b" 400 "),
    ]
    for request, status in cases:
        line, head, body = stack.raw_request(request)
        expect(status in line, "%r for %r" % (line, request[:60]))
        expect(b"application/json" in head and b'"detail"' in body, repr(head + body))


def test_error_detail_is_valid_json_for_any_input():
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="\x80"\r\n\r\nv\r\n'
            b"--XyZ--\r\n")
    resp = stack.post("/image_groups", body,
                      headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    expect_error(resp, 422, "Unknown field")


def test_request_id_is_echoed():
    resp = stack.get("/image_groups/" + "0" * 24)
    expect(re.match(r"^[0-9a-f]{32}$", resp.header("x-request-id") or ""),
           repr(resp.header("x-request-id")))


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_root_names_the_service, test_healthz_ok,
          test_create_wrapped_form, test_create_bare_form_and_defaults,
          test_create_accepts_json_with_charset_and_unicode,
          test_create_name_length_limit, test_create_rejects_invalid_fields,
          test_create_malformed_json_is_400, test_create_wrong_content_type_is_415,
          test_create_body_over_json_limit_is_413, test_body_over_nginx_limit_is_json_413,
          test_get_unknown_and_malformed_ids, test_list_newest_first_with_paging_headers,
          test_list_default_limit_and_whole_list, test_list_rejects_bad_parameters,
          test_patch_wrapped_and_bare, test_patch_invalid_changes_nothing,
          test_delete_reports_and_removes, test_wrong_method_is_405_with_allow,
          test_unknown_path_is_json_404, test_head_and_trailing_slash,
          test_nginx_errors_are_json_4xx, test_error_detail_is_valid_json_for_any_input,
          test_request_id_is_echoed, test_stop_cleanly])
