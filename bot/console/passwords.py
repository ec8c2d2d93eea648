"""Agents' passwords: salted scrypt from the standard library, stored as `scrypt$n$r$p$salt$hash`.

The parameters travel with each hash, so they can be raised later without invalidating stored passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MIN_LENGTH = 10
MAX_LENGTH = 1024  # scrypt hashes anything, but a megabyte "password" is a denial of service, not a password
N, R, P = 2**14, 8, 1  # ~16 MiB and ~50 ms per hash: slow for guessing, fine for a login
SALT_BYTES = 16
KEY_BYTES = 32
_MAX_N = 2**20  # refuse absurd parameters read from the database (memory)


class PasswordPolicyError(ValueError):
    """The password is refused (too short, too long); the message says why."""


def check_policy(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"a password has at most {MAX_LENGTH} characters")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=128 * r * (n + p + 2) + 1024 * 1024
    )


def hash_password(password: str) -> str:
    """A new hash with a random salt (checks the policy first)."""
    check_policy(password)
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_scrypt(password, salt, N, R, P, KEY_BYTES))}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches `encoded`; False (never an exception) for a malformed hash."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (1 < n_ <= _MAX_N and 0 < r_ <= 32 and 0 < p_ <= 16):
            return False
        salt_bytes, expected_bytes = _unb64(salt), _unb64(expected)
    except (ValueError, AttributeError):
        return False
    if not isinstance(password, str) or len(password) > MAX_LENGTH or not expected_bytes:
        return False
    actual = _scrypt(password, salt_bytes, n_, r_, p_, len(expected_bytes))
    return hmac.compare_digest(actual, expected_bytes)


# Verified against when the username is unknown, so a login takes as long either way.
DUMMY_HASH = f"scrypt${N}${R}${P}${_b64(b'tandem-dummy-salt')}${_b64(bytes(KEY_BYTES))}"
