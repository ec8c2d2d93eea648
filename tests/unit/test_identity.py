"""Customer identity: only tokens signed with the shop's secret identify a customer."""

import time

import jwt
import pytest

from bot.identity import METADATA_KEY, InvalidToken, customer_from_metadata, sign_customer, verify_token


def test_a_signed_token_names_its_customer():
    assert verify_token(sign_customer("CUST-00042")) == "CUST-00042"


def test_a_token_signed_with_another_secret_is_refused():
    forged = sign_customer("CUST-00042", secret="not-the-shop-secret")
    with pytest.raises(InvalidToken):
        verify_token(forged)


def test_an_edited_token_is_refused():
    token = sign_customer("CUST-00042")
    header, payload, signature = token.split(".")
    other = sign_customer("CUST-00043").split(".")[1]
    with pytest.raises(InvalidToken):
        verify_token(".".join([header, other, signature]))


def test_an_expired_token_is_refused():
    token = sign_customer("CUST-00042", ttl_seconds=-10)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token)


def test_an_unsigned_token_is_refused():
    unsigned = jwt.encode(
        {"sub": "CUST-00042", "iss": "tandem-shop", "exp": int(time.time()) + 60}, key=None, algorithm="none"
    )
    with pytest.raises(InvalidToken):
        verify_token(unsigned)


@pytest.mark.parametrize(
    "metadata",
    [None, {}, {METADATA_KEY: ""}, {METADATA_KEY: 42}, {METADATA_KEY: "garbage"}, {"customer_id": "CUST-00042"}],
)
def test_metadata_without_a_valid_token_is_anonymous(metadata):
    assert customer_from_metadata(metadata) is None


def test_metadata_with_a_valid_token_names_the_customer():
    assert customer_from_metadata({METADATA_KEY: sign_customer("CUST-00007")}) == "CUST-00007"


def test_signing_needs_a_customer():
    with pytest.raises(ValueError):
        sign_customer("")


def test_a_token_whose_subject_is_no_customer_id_is_refused():
    import time

    import jwt as pyjwt

    from bot.identity import ALGORITHM, ISSUER, InvalidToken, verify_token
    from bot.settings import get_settings

    for subject in ("CUST\x00", "x" * 65, " CUST-1", "\u202e"):
        claims = {"sub": subject, "iss": ISSUER, "iat": int(time.time()), "exp": int(time.time()) + 60}
        token = pyjwt.encode(claims, get_settings().secret_key, algorithm=ALGORITHM)
        with pytest.raises(InvalidToken):
            verify_token(token)
