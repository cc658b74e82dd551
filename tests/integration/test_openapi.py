"""test_openapi.py: the OpenAPI document and the docs page.

Every route of the router is in GET /openapi.json and every operation of
the document is routed (read from src/api/routes.c); real answers of the
API are checked against the document's response schemas with jsonschema
(Debian: python3-jsonschema); and /docs, Swagger UI served by nginx,
is opened in headless Chromium (Debian: chromium), which must render
every operation of the document.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import jsonschema

from harness import SRCDIR, Stack, expect, expect_status, main
from images import exif_block, make_image, multipart, with_exif

stack = None
spec = None
key = None


def test_start():
    global stack, spec, key
    stack = Stack(name="openapi", config={"auth_mode": "writes"})
    os.makedirs(stack.data_dir, exist_ok=True)
    key = subprocess.run([os.environ.get("BANDPICS_BIN"), "--config", stack.config_path,
                          "--key-create", "openapi", "--role", "admin"],
                         check=True, capture_output=True, text=True, env=stack.env()).stdout.strip()
    stack.start()
    resp = stack.get("/openapi.json")
    expect_status(resp, 200)
    expect(resp.header("content-type") == "application/json", repr(resp.headers))
    spec = resp.json
    expect(spec["openapi"].startswith("3.1"), spec.get("openapi"))


def normalized(path):
    return re.sub(r"\{[^}]+\}", "{}", path)


def routed():
    with open(os.path.join(SRCDIR, "src", "api", "routes.c")) as f:
        table = f.read()
    return {(m.lower(), normalized(p))
            for m, p in re.findall(r'\{"([A-Z]+)", "(/[^"]*)"', table)}


def documented():
    ops = set()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                ops.add((method, normalized(path)))
    return ops


def test_every_route_documented_and_every_operation_routed():
    expect(routed() - documented() == set(), "undocumented: %r" % (routed() - documented()))
    expect(documented() - routed() == set(), "not routed: %r" % (documented() - routed()))
    for item in spec["paths"].values():
        for method, op in item.items():
            if method == "parameters":
                continue
            expect(op.get("operationId") and op.get("summary"), repr(op))
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    expect(answer["content"]["application/json"]["schema"] ==
                           {"$ref": "#/components/schemas/Error"}, "%s %s" % (method, status))
    expect(spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer")
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def operation(method, path):
    """The document's operation for a concrete request path."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if method in item and re.match(pattern, path):
            return item[method]
    raise AssertionError("no operation for %s %s" % (method, path))


def check(method, path, resp):
    """Validates resp's JSON body against the document's schema for it."""
    answers = operation(method, path)["responses"]
    expect(str(resp.status) in answers, "%s %s: %d not documented" % (method, path, resp.status))
    content = answers[str(resp.status)].get("content", {})
    if "application/json" not in content:
        return
    schema = dict(content["application/json"]["schema"], components=spec["components"])
    try:
        jsonschema.Draft202012Validator(schema).validate(resp.json)
    except jsonschema.ValidationError as e:
        raise AssertionError("%s %s (%d): %s" % (method, path, resp.status, e.message))


def call(method, path, body=None, auth=True, **headers):
    if auth:
        headers["Authorization"] = "Bearer " + key
    resp = stack.request(method.upper(), path, body, headers=headers)
    check(method, path.split("?")[0], resp)
    return resp


def test_real_answers_match_the_schemas():
    for path in ("/", "/healthz", "/image_groups", "/images"):
        call("get", path, auth=False)
    group = call("post", "/image_groups", {"group": {"name": "Schema", "event": "65f0a1b2c3d4e5f6a7b8c9d0"}}).json
    gid = group["id"]
    call("get", "/image_groups/" + gid)
    call("patch", "/image_groups/" + gid, {"group": {"description": "d", "images": []}})
    jpeg = with_exif(make_image(64, 48, "jpg"), exif_block(make="Canon", lat=1.5, lon=2.5))
    ctype, body = multipart(files=[("images", "a.jpg", jpeg, "image/jpeg")])
    added = call("post", "/images/" + gid, body, **{"Content-Type": ctype}).json
    iid = added["added_images"][0]["id"]
    call("post", "/image_groups", body, **{"Content-Type": ctype})
    raw = call("post", "/images?filename=b.jpg&group=" + gid, jpeg, **{"Content-Type": "image/jpeg"})
    expect_status(raw, 201)
    call("get", "/images/" + iid)
    call("get", "/images?group=" + gid + "&near=1.5,2.5&radius=100")
    call("patch", "/images/" + iid, {"description": "x"})
    urls = call("post", "/images/" + gid, {"images": ["c.jpg"]}).json
    pending = urls["added_images"][0]
    call("post", "/image_groups", {"group": {"name": "Direct", "images": ["d.jpg"]}})
    put = stack.request("PUT", pending["presigned_url"].split(str(stack.port), 1)[1], jpeg,
                        headers={"Content-Type": "image/jpeg"})
    check("put", "/uploads/x", put)
    call("post", "/images/%s/complete" % pending["id"])
    call("patch", "/images/%s/file" % iid, {"image": "e.jpg"})
    call("patch", "/events/65f0a1b2c3d4e5f6a7b8c9d0/image_groups")
    # Errors, each in the document with the {"detail"} schema.
    call("get", "/images/" + "0" * 24)
    call("get", "/image_groups/nope")
    call("post", "/image_groups", b"{", **{"Content-Type": "application/json"})
    call("post", "/image_groups", {"group": {"name": "x"}}, auth=False)
    call("post", "/images?filename=z.jpg", b"not an image", **{"Content-Type": "image/jpeg"})
    call("delete", "/images/" + iid)
    call("delete", "/image_groups/" + gid)


def test_docs_page_renders_every_operation():
    chromium = shutil.which("chromium")
    expect(chromium is not None, "chromium is not installed (./deploy/dev test installs it)")
    profile = tempfile.mkdtemp(prefix="bp-chromium-")
    try:
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + profile, "--virtual-time-budget=20000",
             "--dump-dom", "http://127.0.0.1:%d/docs/" % stack.port],
            capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = out.stdout
    # Served with their types, or a browser ignores the stylesheet.
    for name, ctype in (("swagger-ui.css", "text/css"),
                        ("swagger-ui-bundle.js", "application/javascript"),
                        ("", "text/html")):
        resp = stack.get("/docs/" + name)
        expect_status(resp, 200)
        expect((resp.header("content-type") or "").startswith(ctype), "%s: %r" % (
            name, resp.header("content-type")))
    expect("swagger-ui" in dom, "no Swagger UI in the page: %s" % out.stderr[-2000:])
    missing = []
    for item in spec["paths"].values():
        for method, op in item.items():
            if method != "parameters" and op["operationId"] not in dom:
                missing.append(op["operationId"])
    expect(not missing, "operations not on the page: %r" % missing)


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_every_route_documented_and_every_operation_routed,
          test_real_answers_match_the_schemas, test_docs_page_renders_every_operation,
          test_stop_cleanly])
