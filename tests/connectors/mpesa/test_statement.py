"""The M-Pesa statement parser: the export's preamble and columns, every
encoding and separator Excel produces, and bad rows named by line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copcca.connectors.mpesa.statement import parse_statement
from copcca.errors import InvalidInput

EXPORT = """Account Holder:,DUKA LA AMINA
Short Code:,174379
Time Period:,01-03-2026 - 31-03-2026

Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.
SC1AB2CD3E,03-03-2026 10:15:00,03-03-2026 10:15:00,Pay Bill from 254712345678 - WANJIKU KAMAU Acc. INV0042,Completed,"1,500.00",,"10,500.00",true,Pay Bill,254712345678 - WANJIKU KAMAU,,INV0042
SC1AB2CD3F,03-03-2026 11:00:00,03-03-2026 11:00:00,Pay Bill from 2547****5679 - JUMA Acc. inv-7,Completed,250.50,,"10,750.50",true,Pay Bill,2547****5679 - JUMA,,
SC1AB2CD3G,04-03-2026 09:00:00,04-03-2026 09:00:00,Business Payment to 254700000000,Completed,,"5,000.00","5,750.50",true,Business Payment,254700000000 - SUPPLIER,,
SC1AB2CD3H,04-03-2026 09:30:00,04-03-2026 09:30:00,Pay Bill from 254711111111 - Crème Brûlée Ltd,Cancelled,700.00,,,true,Pay Bill,254711111111 - Crème Brûlée Ltd,,X
"""


def test_reads_money_in_and_skips_money_out_and_cancelled() -> None:
    statement = parse_statement(EXPORT.encode())
    assert statement.problems == []
    assert statement.skipped == 2
    first, second = statement.rows
    assert (first.receipt, first.amount_minor, first.account) == (
        "SC1AB2CD3E",
        150_000,
        "INV0042",
    )
    assert first.completed_at == datetime(2026, 3, 3, 7, 15, tzinfo=UTC)
    assert (first.phone_hint, first.payer_name) == ("254712345678", "Wanjiku Kamau")
    assert (second.amount_minor, second.phone_hint) == (25_050, "2547****5679")
    assert second.account == "inv-7"  # from "Acc. inv-7" in the details


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("utf-16", ","),
        ("cp1252", ","),
        ("utf-8", ";"),
        ("utf-8", "\t"),
    ],
)
def test_every_encoding_and_separator_reads_the_same(
    encoding: str, separator: str
) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(EXPORT)))
    out = io.StringIO()
    csv.writer(out, delimiter=separator).writerows(rows)
    statement = parse_statement(out.getvalue().encode(encoding))
    assert [(r.receipt, r.amount_minor) for r in statement.rows] == [
        ("SC1AB2CD3E", 150_000),
        ("SC1AB2CD3F", 25_050),
    ]


def test_bad_rows_are_named_by_line_and_the_rest_is_read() -> None:
    broken = EXPORT.replace("03-03-2026 11:00:00,03", "yesterday,03").replace(
        "SC1AB2CD3E", "=HYPERLINK()"
    )
    statement = parse_statement(broken.encode())
    assert [line for line, _ in statement.problems] == [6, 7]
    assert statement.rows == []


@pytest.mark.parametrize("data", [b"", b"name,phone\nA,1\n", b"\x00\x01\x02" * 10])
def test_a_file_that_is_not_a_statement_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_statement(data)


def test_oversized_file_is_refused_before_reading() -> None:
    with pytest.raises(InvalidInput):
        parse_statement(b"x" * 5_000_001)
