"""Contact import files: CSV (RFC 4180) in UTF-8, parsed incrementally as chunks arrive.

The first record is the header. Columns, in any order, names case-insensitive:
`phone_number` (or `phone`, required), `display_name` (or `name`), `tags` (tags separated by
`;`, `,`, `|` or spaces). The delimiter is the first of `,` `;` or tab found in the header (so
spreadsheets that export with `;` work as they are). A column that is present replaces that
field of an existing contact; an absent one leaves it alone.

Structural problems (not UTF-8, no or bad header, too many rows, an over-long or unterminated
record) stop the import at once. Row problems are collected (the first MAX_LISTED with their
line numbers) and reported together at the end; an import with any bad row writes nothing.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field

from tucano_kit.errors import FieldViolation, InvalidArgument

from tucano_campaigns.domain.contacts import (
    InvalidPhoneNumber,
    normalize_display_name,
    normalize_phone,
    normalize_tags,
)

MAX_RECORD_CHARS = 64 * 1024
MAX_LISTED = 100
DELIMITERS = (",", ";", "\t")
TAG_SEPARATORS = re.compile(r"[;,|\s]+")
ALIASES = {"phone_number": "phone_number", "phone": "phone_number",
           "display_name": "display_name", "name": "display_name", "tags": "tags"}


@dataclass(frozen=True)
class ImportRow:
    line: int  # 1-based line of the file where the record starts (the header is line 1)
    phone_number: str  # E.164
    display_name: str
    tags: list[str]


@dataclass(frozen=True)
class Header:
    delimiter: str
    positions: dict[str, int]  # canonical column -> index

    @property
    def has_display_name(self) -> bool:
        return "display_name" in self.positions

    @property
    def has_tags(self) -> bool:
        return "tags" in self.positions


def _structural(description: str, where: str = "body") -> InvalidArgument:
    return InvalidArgument([FieldViolation(where, description)])


def parse_header(record: str) -> Header:
    delimiter = next((d for d in DELIMITERS if d in record), ",")
    names = next(csv.reader([record], delimiter=delimiter, strict=True))
    positions: dict[str, int] = {}
    problems: list[FieldViolation] = []
    for index, raw in enumerate(names):
        name = raw.strip().lower().replace(" ", "_")
        canonical = ALIASES.get(name)
        if canonical is None:
            problems.append(FieldViolation(
                f"header[{index}]", f"unknown column {raw.strip()!r}; columns are phone_number,"
                " display_name, tags"))
        elif canonical in positions:
            problems.append(FieldViolation(f"header[{index}]",
                                           f"column {canonical} appears twice"))
        else:
            positions[canonical] = index
    if "phone_number" not in positions and not problems:
        problems.append(FieldViolation("header", "a phone_number column is required"))
    if problems:
        raise InvalidArgument(problems)
    return Header(delimiter=delimiter, positions=positions)


@dataclass
class ContactCsvParser:
    """Feed the file's bytes in chunks; each call returns the rows completed so far."""

    default_region: str | None = None
    max_rows: int = 1_000_000
    header: Header | None = None
    rows: int = 0  # data records seen, valid or not
    invalid_rows: int = 0
    violations: list[FieldViolation] = field(default_factory=list)
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8-sig")("strict"))
    _tail: str = ""  # an incomplete line
    _record: list[str] = field(default_factory=list)  # lines of an incomplete record
    _record_chars: int = 0
    _record_line: int = 0
    _in_quotes: bool = False
    _line: int = 0
    _bytes: int = 0

    def feed(self, chunk: bytes) -> list[ImportRow]:
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise _structural(f"is not UTF-8 (bad byte at offset {self._bytes + exc.start})"
                              ) from None
        self._bytes += len(chunk)
        lines = (self._tail + text).split("\n")
        self._tail = lines.pop()
        if len(self._tail) > MAX_RECORD_CHARS:
            raise self._too_long(self._line + 1)
        out: list[ImportRow] = []
        for line in lines:
            self._take_line(line, out)
        return out

    def finish(self) -> list[ImportRow]:
        """The last rows; raises for an empty file or an unterminated quoted field."""
        try:
            self._tail += self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _structural("is not UTF-8 (truncated character at the end)") from None
        out: list[ImportRow] = []
        if self._tail:
            self._take_line(self._tail, out)
            self._tail = ""
        if self._in_quotes:
            raise _structural(f"a quoted field opened on line {self._record_line} is never"
                              " closed")
        if self.header is None:
            raise _structural("is empty; the first line must name the columns, e.g."
                              " phone_number,display_name,tags")
        if self.rows == 0:
            raise _structural("has a header but no contacts")
        return out

    def _too_long(self, line: int) -> InvalidArgument:
        return _structural(f"the record starting on line {line} is longer than"
                           f" {MAX_RECORD_CHARS} characters")

    def _take_line(self, line: str, out: list[ImportRow]) -> None:
        self._line += 1
        if not self._record:
            self._record_line, self._record_chars = self._line, 0
        self._record.append(line)
        self._record_chars += len(line) + 1
        if self._record_chars > MAX_RECORD_CHARS:
            raise self._too_long(self._record_line)
        if line.count('"') % 2:
            self._in_quotes = not self._in_quotes
        if self._in_quotes:
            return
        record = "\n".join(self._record)
        self._record = []
        if record.endswith("\r"):
            record = record[:-1]
        if not record.strip():
            return  # blank lines (e.g. at the end of the file) are not records
        if self.header is None:
            self.header = parse_header(record)
            return
        self.rows += 1
        if self.rows > self.max_rows:
            raise _structural(f"has more than {self.max_rows} contacts; split the file")
        row = self._row(record, self._record_line, self.header)
        if row is not None:
            out.append(row)

    def _row(self, record: str, line: int, header: Header) -> ImportRow | None:
        if '"' in record:
            try:
                fields = next(csv.reader([record], delimiter=header.delimiter, strict=True))
            except csv.Error as exc:
                self._bad(line, f"is not valid CSV: {exc}")
                return None
        else:
            fields = record.split(header.delimiter)
        width = len(header.positions)
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            self._bad(line, f"has {len(fields)} fields; the header has {width}")
            return None

        def value(column: str) -> str:
            index = header.positions.get(column)
            return fields[index] if index is not None and index < len(fields) else ""

        problems: list[tuple[str, str]] = []
        phone = ""
        raw_phone = value("phone_number").strip()
        if not raw_phone:
            problems.append(("phone_number", "is required"))
        else:
            try:
                phone = normalize_phone(raw_phone, self.default_region)
            except InvalidPhoneNumber as exc:
                problems.append(("phone_number", f"{raw_phone!r}: {exc}"))
        name = ""
        try:
            name = normalize_display_name(value("display_name"))
        except ValueError as exc:
            problems.append(("display_name", str(exc)))
        tags: list[str] = []
        raw_tags = [t for t in TAG_SEPARATORS.split(value("tags")) if t]
        try:
            tags = normalize_tags(raw_tags)
        except ValueError as exc:
            problems.append(("tags", str(exc)))
        if problems:
            self.invalid_rows += 1
            for column, description in problems:
                self._list(f"line[{line}].{column}", description)
            return None
        return ImportRow(line=line, phone_number=phone, display_name=name, tags=tags)

    def _bad(self, line: int, description: str) -> None:
        self.invalid_rows += 1
        self._list(f"line[{line}]", description)

    def _list(self, field_path: str, description: str) -> None:
        if len(self.violations) < MAX_LISTED:
            self.violations.append(FieldViolation(field_path, description))

    def rejection(self) -> InvalidArgument | None:
        """The error for a file with bad rows (None when every row was good)."""
        if not self.invalid_rows:
            return None
        listed = "" if self.invalid_rows <= len(self.violations) else \
            f"; the first {len(self.violations)} problems are listed"
        return InvalidArgument(
            self.violations,
            f"{self.invalid_rows} of {self.rows} rows are invalid{listed}; nothing was imported")
