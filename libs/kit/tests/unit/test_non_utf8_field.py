"""Naming the field whose bytes are not UTF-8, from the wire format (protobuf only says the
message does not parse)."""

from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2
from tucano_kit.grpc.interceptors import non_utf8_field

BAD_REQUEST = error_details_pb2.BadRequest


def encoded(*violations: tuple[str, str]) -> bytes:
    return BAD_REQUEST(field_violations=[
        BAD_REQUEST.FieldViolation(field=f, description=d) for f, d in violations
    ]).SerializeToString()


def with_bad_bytes(raw: bytes, good: str) -> bytes:
    """`raw` with the UTF-8 of `good` replaced by as many bytes that are not UTF-8."""
    assert raw.count(good.encode()) == 1
    return raw.replace(good.encode(), b"\xff" * len(good.encode()))


def test_a_valid_message_has_no_such_field() -> None:
    assert non_utf8_field(encoded(("email", "is required")), BAD_REQUEST.DESCRIPTOR) is None


def test_a_field_of_a_repeated_nested_message_is_named_by_its_path() -> None:
    raw = with_bad_bytes(encoded(("email", "ok"), ("name", "está errado")), "está")
    assert non_utf8_field(raw, BAD_REQUEST.DESCRIPTOR) == "field_violations.description"


def test_a_top_level_field() -> None:
    raw = with_bad_bytes(status_pb2.Status(code=3, message="olá").SerializeToString(), "olá")
    assert non_utf8_field(raw, status_pb2.Status.DESCRIPTOR) == "message"


def test_bytes_of_unknown_fields_and_other_types_are_skipped() -> None:
    mask = field_mask_pb2.FieldMask(paths=["a"]).SerializeToString()
    unknown = b"\xfa\x01" + bytes([len(mask)]) + mask.replace(b"a", b"\xff")  # field 31
    varint = b"\x90\x01\x96\x01"  # field 18, varint 150
    assert non_utf8_field(unknown + varint + encoded(("a", "b")),
                          BAD_REQUEST.DESCRIPTOR) is None
