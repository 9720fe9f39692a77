import time

import jwt
import pytest

from microturn.runtime.settings import Settings
from microturn.runtime.tokens import TokenError, mint_token, verify_token

SECRET = "s3cret-for-tests-0123456789abcdef-xyz"


def test_round_trip_carries_room_identity_and_expiry():
    token = mint_token(SECRET, "lab", "ada", ttl_s=60, now=1000)
    grant = verify_token(SECRET, token, "lab", now=1030)
    assert (grant.room, grant.identity, grant.expires_at) == ("lab", "ada", 1060)


@pytest.mark.parametrize(
    "make, room, reason, status",
    [
        (lambda: None, "lab", "missing_token", 401),
        (lambda: "", "lab", "missing_token", 401),
        (lambda: "not-a-jwt", "lab", "malformed_token", 401),
        (lambda: mint_token("another-key-0123456789abcdef-0123456789", "lab", "ada"), "lab", "invalid_signature", 401),
        (lambda: mint_token(SECRET, "lab", "ada", ttl_s=5, now=time.time() - 60), "lab", "expired_token", 401),
        (lambda: mint_token(SECRET, "lab", "ada"), "kitchen", "wrong_room", 403),
    ],
)
def test_refusals_name_their_reason(make, room, reason, status):
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, make(), room)
    assert info.value.reason == reason
    assert info.value.status == status


def test_tampered_payload_is_refused():
    token = mint_token(SECRET, "lab", "ada")
    header, payload, sig = token.split(".")
    forged = jwt.encode({"room": "lab", "sub": "mallory", "exp": 9999999999, "iss": "microturn"}, "x" * 40, algorithm="HS256")
    tampered = ".".join([header, forged.split(".")[1], sig])
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, tampered, "lab")
    assert info.value.reason == "invalid_signature"


def test_token_without_room_claim_is_refused():
    token = jwt.encode({"sub": "ada", "exp": time.time() + 60, "iss": "microturn"}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, token, "lab")
    assert info.value.reason == "invalid_token"


def test_mint_needs_a_secret():
    with pytest.raises(ValueError):
        mint_token("", "lab", "ada")


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("MICROTURN_SECRET", "abc")
    monkeypatch.setenv("MICROTURN_PORT", "9123")
    monkeypatch.setenv("MICROTURN_LOOPBACK_ICE", "true")
    s = Settings()
    assert (s.secret, s.port, s.loopback_ice) == ("abc", 9123, True)
    monkeypatch.delenv("MICROTURN_LOOPBACK_ICE")
    assert Settings().loopback_ice is False  # never on unless asked for
