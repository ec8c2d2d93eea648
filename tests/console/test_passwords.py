"""Agents' passwords: salted scrypt, self-describing, compared in constant time, and a policy."""

from __future__ import annotations

import pytest

from bot.console.passwords import DUMMY_HASH, PasswordPolicyError, check_policy, hash_password, verify_password


def test_a_hash_is_salted_scrypt_that_names_its_parameters():
    encoded = hash_password("correct horse battery")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert salt and digest and "correct" not in encoded
    assert hash_password("correct horse battery") != encoded  # a new salt every time


def test_only_the_right_password_verifies():
    encoded = hash_password("correct horse battery")
    assert verify_password("correct horse battery", encoded)
    assert not verify_password("correct horse batterY", encoded)
    assert not verify_password("", encoded)


@pytest.mark.parametrize(
    "broken",
    [
        "",
        "plain",
        "scrypt$x$8$1$a$b",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$4194304$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$!!$AAAA",
    ],
)
def test_a_malformed_or_foreign_hash_never_verifies_and_never_crashes(broken):
    assert not verify_password("correct horse battery", broken)


def test_the_dummy_hash_used_for_unknown_users_matches_nothing():
    assert not verify_password("correct horse battery", DUMMY_HASH)


def test_passwords_need_ten_characters_and_not_a_megabyte():
    with pytest.raises(PasswordPolicyError, match="at least 10"):
        check_policy("short")
    with pytest.raises(PasswordPolicyError):
        hash_password("x" * 2000)
    check_policy("ten chars!")
