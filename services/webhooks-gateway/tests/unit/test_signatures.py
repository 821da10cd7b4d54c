from tucano_webhooks_gateway.domain.signatures import is_genuine, sign, verify_subscription

BODY = b'{"object":"whatsapp_business_account","text":"ol\\u00e1"}'


def test_a_signature_over_the_exact_bytes_is_genuine() -> None:
    assert is_genuine("secret", BODY, sign("secret", BODY))


def test_wrong_secret_tampered_body_or_missing_header_is_not_genuine() -> None:
    header = sign("secret", BODY)
    assert not is_genuine("other", BODY, header)
    assert not is_genuine("secret", BODY.replace(b"\\u00e1", "á".encode()), header)
    assert not is_genuine("secret", BODY, None)
    assert not is_genuine("secret", BODY, header.removeprefix("sha256="))


def test_the_handshake_needs_subscribe_and_the_exact_token() -> None:
    assert verify_subscription("subscribe", "tok", "tok")
    assert not verify_subscription("unsubscribe", "tok", "tok")
    assert not verify_subscription("subscribe", "to", "tok")
