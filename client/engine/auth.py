"""JWT authentication of the Engine API (execution-apis src/engine/authentication.md).

The secret is 32 bytes kept as hex (an optional 0x prefix) in a file both clients read; the execution client
creates it when none is given, as geth does (`<datadir>/jwtsecret`). Every request carries
`Authorization: Bearer <token>`: an HS256 token (no other algorithm is accepted, `none` least of all) whose `iat`
claim is within 60 seconds of the server's clock. The token is checked with PyJWT, never by hand.
"""

from __future__ import annotations

import os
import secrets
import time

import jwt

from ..errors import UserError

SECRET_BYTES = 32
IAT_WINDOW = 60  # seconds either side of now
JWT_SECRET_FILE = "jwtsecret"


def read_secret(path: str) -> bytes:
    """The 32-byte secret in `path` (hex, optional 0x); a bad file is a UserError naming it."""
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError as exc:
        raise UserError(f"cannot read JWT secret {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"JWT secret {path} is not hex") from None
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise UserError(f"JWT secret {path} is not hex") from None
    if len(secret) != SECRET_BYTES:
        raise UserError(f"JWT secret {path} must hold {SECRET_BYTES} bytes (64 hex digits), not {len(secret)}")
    return secret


def load_or_create_secret(path: str | None, datadir: str) -> tuple[bytes, str]:
    """(secret, file): the given file, or `<datadir>/jwtsecret`, created with a fresh random secret (mode 0600)
    when it does not exist yet."""
    if path:
        return read_secret(path), path
    path = os.path.join(datadir, JWT_SECRET_FILE)
    if os.path.exists(path):
        return read_secret(path), path
    secret = secrets.token_bytes(SECRET_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("0x" + secret.hex() + "\n")
    return secret, path


def make_token(secret: bytes, iat: int | None = None, **claims) -> str:
    """A token as a consensus client sends it (tests, the enginetest runner)."""
    return jwt.encode({"iat": int(time.time()) if iat is None else iat, **claims}, secret, algorithm="HS256")


def check_authorization(header: str | None, secret: bytes, now: float | None = None) -> str | None:
    """None when `header` ("Bearer <token>") holds a valid token, else why not (the 401 body)."""
    if not header:
        return "missing token"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing token"
    try:
        # iat is checked against our window below, not by PyJWT (which only refuses iat in the future)
        claims = jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            options={"require": ["iat"], "verify_iat": False, "verify_exp": True},
        )
    except jwt.MissingRequiredClaimError:
        return "token has no iat claim"
    except jwt.InvalidSignatureError:
        return "signature invalid"
    except jwt.InvalidAlgorithmError:
        return "token algorithm must be HS256"
    except jwt.InvalidTokenError as exc:
        return f"invalid token: {exc}"
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        return "iat claim is not a number"
    now = time.time() if now is None else now
    if abs(now - iat) > IAT_WINDOW:
        return "stale token (iat more than 60 s from now)"
    return None
