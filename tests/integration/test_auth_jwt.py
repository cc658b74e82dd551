"""test_auth_jwt.py: bearer JWTs from an OpenID Connect issuer (Amazon
Cognito's shape) through a real nginx and the pool.

The test is the issuer: it makes RSA and EC keys, serves their JWKS on a
loopback port and signs access tokens as Cognito does (client_id,
token_use, cognito:groups). Every refusal answers 401 "invalid token"
with error="invalid_token"; keys rotate; an issuer that cannot be
reached leaves tokens with cached keys working and answers the others
503. Needs the cryptography package (Debian: python3-cryptography).
"""
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness import Stack, expect, expect_error, expect_status, free_port, main

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BpTest01"
CLIENT = "4bandpicsclientid0000000"

stack = None
issuer = None


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint_b64(n):
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    """Keys, a JWKS served on loopback, and tokens signed with them."""

    def __init__(self):
        self.keys = {}  # kid -> private key
        self.served = []  # kids in the JWKS
        self.fetches = 0
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                body = json.dumps(outer.jwks()).encode()
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def add_rsa(self, kid):
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.served.append(kid)

    def add_ec(self, kid):
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        self.served.append(kid)

    def jwks(self):
        out = []
        for kid in self.served:
            pub = self.keys[kid].public_key()
            if isinstance(pub, rsa.RSAPublicKey):
                n = pub.public_numbers()
                out.append({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                            "n": uint_b64(n.n), "e": uint_b64(n.e)})
            else:
                n = pub.public_numbers()
                out.append({"kty": "EC", "kid": kid, "crv": "P-256", "use": "sig",
                            "x": b64(n.x.to_bytes(32, "big")),
                            "y": b64(n.y.to_bytes(32, "big"))})
        return {"keys": out}

    def claims(self, sub="user-1", groups=None, **changes):
        now = int(time.time())
        claims = {"sub": sub, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
                  "scope": "aws.cognito.signin.user.admin", "auth_time": now,
                  "iat": now, "exp": now + 3600, "jti": sub + str(now),
                  "username": sub}
        if groups is not None:
            claims["cognito:groups"] = groups
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid="rsa1", alg=None, header=None, **claims):
        key = self.keys[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        head = {"alg": alg, "kid": kid, "typ": "JWT"}
        head.update(header or {})
        signing_input = (b64(json.dumps(head).encode()) + "." +
                         b64(json.dumps(self.claims(**claims)).encode())).encode()
        if alg == "RS256":
            sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif alg == "HS256":
            # The classic confusion attack: HMAC keyed with the public key.
            pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
            sig = hmac.new(pem, signing_input, hashlib.sha256).digest()
        else:
            sig = b""
        return signing_input.decode() + "." + b64(sig)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_start():
    global stack, issuer
    issuer = Issuer()
    issuer.add_rsa("rsa1")
    issuer.add_ec("ec1")
    # One worker, so that what it cached is what the next request sees.
    stack = Stack(name="jwt", workers=1, config={
        "auth_mode": "writes", "auth_issuer": ISSUER, "auth_audience": CLIENT,
        "auth_token_use": "access", "auth_jwks_refetch_s": 1,
        "auth_jwks_url": "http://127.0.0.1:%d/jwks.json" % issuer.port,
        "auth_contributor_roles": "contributor, photographers",
        "auth_admin_roles": "admin"}).start()


def test_rs256_and_es256_tokens_act_as_their_subject():
    resp = stack.post("/image_groups", {"group": {"name": "by rsa"}},
                      headers=bearer(issuer.token("rsa1", sub="alice",
                                                  groups=["photographers"])))
    expect_status(resp, 201)
    expect(resp.json["owner"] == "alice", repr(resp.json))
    group = resp.json
    # Another contributor may not change it; an admin (EC key) may.
    resp = stack.patch("/image_groups/" + group["id"], {"name": "mine"},
                       headers=bearer(issuer.token("ec1", sub="bob", groups=["contributor"])))
    expect_error(resp, 403)
    resp = stack.patch("/image_groups/" + group["id"], {"name": "admin's"},
                       headers=bearer(issuer.token("ec1", sub="root", groups=["admin"])))
    expect_status(resp, 200)
    expect(resp.json["owner"] == "alice", repr(resp.json))
    # A valid token with no mapped group is a reader.
    resp = stack.post("/image_groups", {"group": {"name": "x"}},
                      headers=bearer(issuer.token("rsa1", sub="carol")))
    expect_error(resp, 403)
    resp = stack.get("/image_groups", headers=bearer(issuer.token("rsa1", sub="carol")))
    expect_status(resp, 200)


def refused(token, what):
    resp = stack.post("/image_groups", {"group": {"name": "refused"}}, headers=bearer(token))
    body = expect_error(resp, 401)
    expect(body["detail"] == "invalid token", "%s: %r" % (what, body))
    expect('error="invalid_token"' in (resp.header("www-authenticate") or ""),
           "%s: %r" % (what, resp.headers))


def test_every_refusal_is_401_invalid_token():
    now = int(time.time())
    good = issuer.token("rsa1", sub="eve", groups=["admin"])
    head, payload, sig = good.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["sub"] = "mallory"
    cases = {
        "alg none": issuer.token("rsa1", alg="none", groups=["admin"]),
        "HS256 with the public key": issuer.token("rsa1", alg="HS256", groups=["admin"]),
        "RS256 header on an EC key": b64(json.dumps({"alg": "RS256", "kid": "ec1"}).encode())
        + "." + payload + "." + sig,
        "wrong issuer": issuer.token("rsa1", iss=ISSUER + "x", groups=["admin"]),
        "wrong client": issuer.token("rsa1", client_id="someone-else", groups=["admin"]),
        "id token": issuer.token("rsa1", token_use="id", groups=["admin"]),
        "expired": issuer.token("rsa1", exp=now - 3600, groups=["admin"]),
        "not yet valid": issuer.token("rsa1", nbf=now + 3600, groups=["admin"]),
        "no exp": issuer.token("rsa1", exp=None, groups=["admin"]),
        "tampered payload": head + "." + b64(json.dumps(tampered).encode()) + "." + sig,
        "unknown kid": good.replace(head, b64(json.dumps(
            {"alg": "RS256", "kid": "nobody"}).encode()), 1),
        "over 8 KiB": issuer.token("rsa1", groups=["admin"], pad="x" * 8200),
        "bad base64": head + ".!!!." + sig,
        "payload not an object": head + "." + b64(b"[1,2]") + "." + sig,
        "two segments": head + "." + payload,
        "a sub that names an API key": issuer.token("rsa1", sub="key:" + "0" * 24,
                                                    groups=["admin"]),
    }
    for what, token in cases.items():
        refused(token, what)
    # The good one still works.
    expect_status(stack.post("/image_groups", {"group": {"name": "ok"}},
                             headers=bearer(good)), 201)


def created_once_keys_are_read(token):
    """Posts with token until the worker has read the new key set (it
    reads again for an unknown kid at most once per auth_jwks_refetch_s)."""
    deadline = time.monotonic() + 30
    while True:
        resp = stack.post("/image_groups", {"group": {"name": "rotated"}},
                          headers=bearer(token))
        if resp.status != 401 or time.monotonic() > deadline:
            return resp
        time.sleep(0.2)


def test_key_rotation():
    issuer.add_rsa("rsa2")  # published next to rsa1
    resp = created_once_keys_are_read(issuer.token("rsa2", groups=["admin"]))
    expect_status(resp, 201)
    resp = stack.post("/image_groups", {"group": {"name": "old key"}},
                      headers=bearer(issuer.token("rsa1", groups=["admin"])))
    expect_status(resp, 201)
    # rsa1 leaves the set: once the worker reads it again (an unknown kid,
    # at most once per auth_jwks_refetch_s), rsa1 is refused.
    issuer.served.remove("rsa1")
    issuer.add_ec("ec2")
    resp = created_once_keys_are_read(issuer.token("ec2", groups=["admin"]))
    expect_status(resp, 201)
    refused(issuer.token("rsa1", groups=["admin"]), "a removed key")


def test_unreachable_issuer_keeps_cached_keys_and_answers_503_for_others():
    expect_status(stack.get("/image_groups",
                            headers=bearer(issuer.token("rsa2", groups=["admin"]))), 200)
    issuer.stop()
    issuer.add_rsa("rsa3")
    time.sleep(1.1)  # past the refetch interval, so the worker tries again
    resp = stack.post("/image_groups", {"group": {"name": "cached"}},
                      headers=bearer(issuer.token("rsa2", groups=["admin"])))
    expect_status(resp, 201)
    resp = stack.post("/image_groups", {"group": {"name": "unknown"}},
                      headers=bearer(issuer.token("rsa3", groups=["admin"])))
    body = expect_error(resp, 503)
    expect("keys" in body["detail"], repr(body))


def test_no_token_in_logs():
    stack.stop()
    text = stack.read_logs()
    expect("eyJ" not in text, "a token is in the pool log")


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_rs256_and_es256_tokens_act_as_their_subject,
          test_every_refusal_is_401_invalid_token, test_key_rotation,
          test_unreachable_issuer_keeps_cached_keys_and_answers_503_for_others,
          test_no_token_in_logs, test_stop_cleanly])
