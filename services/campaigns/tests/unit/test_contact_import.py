"""The contact CSV parser: structure, row validation and chunking, without I/O."""

from __future__ import annotations

import pytest
from tucano_campaigns.domain.contact_import import (
    MAX_LISTED,
    MAX_RECORD_CHARS,
    ContactCsvParser,
    ImportRow,
)
from tucano_kit.errors import InvalidArgument


def parse(data: bytes, chunk: int = 1 << 20, **kwargs: object) -> tuple[ContactCsvParser,
                                                                        list[ImportRow]]:
    parser = ContactCsvParser(**kwargs)  # type: ignore[arg-type]
    rows: list[ImportRow] = []
    for start in range(0, len(data), chunk):
        rows.extend(parser.feed(data[start:start + chunk]))
    rows.extend(parser.finish())
    return parser, rows


def structural(data: bytes, **kwargs: object) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        parse(data, **kwargs)
    return err.value


def test_columns_by_any_alias_case_and_order() -> None:
    parser, rows = parse(b"Tags, Name ,PHONE\nvip|news,Ada,+5511987654321\n")
    assert rows == [ImportRow(2, "+5511987654321", "Ada", ["vip", "news"])]
    assert parser.header is not None
    assert (parser.header.has_display_name, parser.header.has_tags) == (True, True)


def test_phone_only_files_leave_names_and_tags_alone() -> None:
    parser, rows = parse(b"phone_number\n+5511987654321")  # no final newline
    assert rows == [ImportRow(2, "+5511987654321", "", [])]
    assert parser.header is not None
    assert (parser.header.has_display_name, parser.header.has_tags) == (False, False)


@pytest.mark.parametrize("delimiter", [b";", b"\t"])
def test_semicolon_and_tab_files_from_spreadsheets(delimiter: bytes) -> None:
    data = delimiter.join([b"phone_number", b"display_name"]) + b"\r\n" + \
        delimiter.join([b"+5511987654321", b"Jos\xc3\xa9, Jr"]) + b"\r\n"
    _, rows = parse(data)
    assert rows == [ImportRow(2, "+5511987654321", "José, Jr", [])]


def test_a_bom_crlf_and_blank_lines_are_tolerated() -> None:
    _, rows = parse(b"\xef\xbb\xbfphone\r\n\r\n+5511987654321\r\n\r\n")
    assert [r.line for r in rows] == [3]


def test_quoted_fields_span_lines_and_keep_line_numbers() -> None:
    data = (b'phone,name,tags\n+5511987654321,"Ada ""the first""","vip\nnews"\n'
            b'+5511987654322,Bob,\n')
    _, rows = parse(data, chunk=3)
    assert rows == [ImportRow(2, "+5511987654321", 'Ada "the first"', ["vip", "news"]),
                    ImportRow(4, "+5511987654322", "Bob", [])]


def test_a_multibyte_character_split_across_chunks_is_fine() -> None:
    _, rows = parse("phone,name\n+5511987654321,João\n".encode(), chunk=1)
    assert rows[0].display_name == "João"


def test_numbers_without_country_code_use_the_tenants_country() -> None:
    _, rows = parse(b"phone\n(11) 98765-4321\n", default_region="BR")
    assert rows[0].phone_number == "+5511987654321"
    parser, rows = parse(b"phone\n(11) 98765-4321\n")
    assert rows == [] and parser.invalid_rows == 1


@pytest.mark.parametrize(("data", "field", "words"), [
    (b"", "body", "is empty"),
    (b"\n\n", "body", "is empty"),
    (b"phone\n", "body", "no contacts"),
    (b"phone,email\n", "header[1]", "unknown column 'email'"),
    (b"phone,phone_number\n", "header[1]", "appears twice"),
    (b"name,tags\n", "header", "phone_number column is required"),
    (b"phone\n+5511987654321\n\xff\n", "body", "not UTF-8 (bad byte at offset 21)"),
    (b"phone,name\n+5511987654321,\"Ada\n", "body", "opened on line 2 is never closed"),
    (b"phone\n+5511987654321\n\xc3", "body", "truncated character"),
])
def test_structural_problems_stop_the_import(data: bytes, field: str, words: str) -> None:
    error = structural(data)
    assert error.violations[0].field == field
    assert words in error.violations[0].description


def test_too_many_rows_stops_the_import() -> None:
    data = b"phone\n" + b"+5511987654321\n" * 4
    assert "more than 3 contacts" in structural(data, max_rows=3).violations[0].description
    parse(data, max_rows=4)


def test_an_overlong_record_stops_the_import_even_without_a_newline() -> None:
    assert "longer than" in structural(
        b"phone,name\n+5511987654321," + b"a" * (MAX_RECORD_CHARS + 10), chunk=1000
    ).violations[0].description
    assert "longer than" in structural(  # an unclosed quote swallowing the file
        b'phone,name\n+5511987654321,"a\n' + b"b,c\n" * MAX_RECORD_CHARS, chunk=4096
    ).violations[0].description


def test_bad_rows_are_all_counted_and_listed_with_line_and_column() -> None:
    data = (b"phone,name,tags\n"
            b"+5511987654321,Ada,ok\n"
            b",Bob,ok\n"
            b"12,Carl,ok\n"
            b"+5511987654322,Dan\x01,ok\n"
            b"+5511987654323,Eve,bad!tag\n"
            b"+5511987654324,Fay,ok,extra\n"
            b"+5511987654325,Gus,ok,,\n"
            b"+5511987654326\n")
    parser, rows = parse(data)
    assert [r.line for r in rows] == [2, 8, 9]
    assert parser.rows == 8 and parser.invalid_rows == 5
    assert [v.field for v in parser.violations] == [
        "line[3].phone_number", "line[4].phone_number", "line[5].display_name",
        "line[6].tags", "line[7]"]
    rejection = parser.rejection()
    assert rejection is not None and "5 of 8 rows are invalid" in rejection.message


def test_only_the_first_problems_are_listed_but_all_are_counted() -> None:
    data = b"phone\n" + b"nope\n" * (MAX_LISTED + 50)
    parser, _ = parse(data)
    rejection = parser.rejection()
    assert rejection is not None
    assert len(rejection.violations) == MAX_LISTED
    assert f"{MAX_LISTED + 50} of {MAX_LISTED + 50} rows" in rejection.message
    assert "first 100 problems are listed" in rejection.message


def test_a_good_file_has_no_rejection() -> None:
    parser, _ = parse(b"phone\n+5511987654321\n")
    assert parser.rejection() is None
