"""Daraja payloads to facts: the public STK password vector, exact amounts,
phone formats and every callback shape in providers.md §1."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copcca.connectors.errors import DataError
from copcca.connectors.mpesa import mapping


def test_stk_password_matches_the_published_sandbox_vector() -> None:
    password = mapping.stk_password(
        "174379",
        "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
        "20210628092408",
    )
    assert password == (
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5Yj"
        "EwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjEwNjI4MDkyNDA4"
    )


def test_timestamp_is_nairobi_time() -> None:
    assert (
        mapping.timestamp(datetime(2021, 6, 28, 6, 24, 8, tzinfo=UTC))
        == "20210628092408"
    )
    assert mapping.parse_timestamp("20210628092408") == datetime(
        2021, 6, 28, 6, 24, 8, tzinfo=UTC
    )
    assert mapping.parse_timestamp("2021-06-28") is None


STK_OK = b"""{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1",
"CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,
"ResultDesc":"The service request is processed successfully.",
"CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},
{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"Balance"},
{"Name":"TransactionDate","Value":20191219102115},
{"Name":"PhoneNumber","Value":254708374149}]}}}}"""


def test_stk_callback_success_reads_exact_amount_receipt_phone() -> None:
    result = mapping.parse_stk_callback(mapping.load(STK_OK))
    assert result.succeeded
    assert result.checkout_request_id == "ws_CO_191220191020363925"
    assert result.amount_minor == 100
    assert result.receipt == "NLJ7RT61SV"
    assert result.phone == "+254708374149"
    assert result.paid_at == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)


def test_stk_callback_cancelled_has_no_metadata() -> None:
    body = {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "1",
                "CheckoutRequestID": "ws_CO_1",
                "ResultCode": 1032,
                "ResultDesc": "Request cancelled by user",
            }
        }
    }
    result = mapping.parse_stk_callback(body)
    assert not result.succeeded
    assert result.result_code == 1032
    assert result.amount_minor is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"Body": {}}',
        b'{"Body": {"stkCallback": {"ResultCode": 0}}}',
        STK_OK.replace(b'"Value":"NLJ7RT61SV"', b'"Value":""'),
        STK_OK.replace(b'"Value":1.00', b'"Value":1.005'),
        STK_OK.replace(b'"Value":1.00', b'"Value":-5'),
    ],
)
def test_malformed_stk_callbacks_are_data_errors(body: bytes) -> None:
    with pytest.raises(DataError):
        mapping.parse_stk_callback(mapping.load(body))


C2B = {
    "TransactionType": "Pay Bill",
    "TransID": "RKTQDM7W6S",
    "TransTime": "20191122063845",
    "TransAmount": "10",
    "BusinessShortCode": "600638",
    "BillRefNumber": "invoice008",
    "InvoiceNumber": "",
    "OrgAccountBalance": "",
    "ThirdPartyTransID": "",
    "MSISDN": "25470****149",
    "FirstName": "John",
    "MiddleName": "",
    "LastName": "Doe",
}


def test_c2b_body_is_read_with_masked_msisdn() -> None:
    c2b = mapping.parse_c2b(mapping.load(json.dumps(C2B).encode()))
    assert c2b.trans_id == "RKTQDM7W6S"
    assert c2b.amount_minor == 1000
    assert c2b.shortcode == "600638"
    assert c2b.bill_ref == "invoice008"
    assert c2b.payer_name == "John Doe"
    assert mapping.usable_phone(c2b.msisdn) is None
    assert mapping.phone_matches(c2b.msisdn, "+254708374149")
    assert not mapping.phone_matches(c2b.msisdn, "+254708374148")


def test_hashed_msisdn_is_compared_by_sha256() -> None:
    hashed = hashlib.sha256(b"254712345678").hexdigest()
    assert mapping.phone_matches(hashed, "+254712345678")
    assert not mapping.phone_matches(hashed, "+254712345679")
    assert mapping.phone_matches("0712***678", "+254712345678")


def test_transaction_status_result_facts() -> None:
    body = {
        "Result": {
            "ResultType": 0,
            "ResultCode": 0,
            "ResultDesc": "ok",
            "OriginatorConversationID": "10816-694520-2",
            "ConversationID": "AG_20170727_000059c52529a8e080bd",
            "TransactionID": "LGR0000000",
            "ResultParameters": {
                "ResultParameter": [
                    {"Key": "ReceiptNo", "Value": "LGR919G2AV"},
                    {"Key": "FinalisedTime", "Value": 20170727101415},
                    {"Key": "Amount", "Value": 10},
                    {"Key": "TransactionStatus", "Value": "Completed"},
                    {"Key": "TransactionReason"},
                    {"Key": "CreditPartyName", "Value": "600134 - Shop"},
                    {"Key": "DebitPartyName", "Value": "254708374149 - John Doe"},
                ]
            },
            "ReferenceData": {
                "ReferenceItem": {"Key": "Occasion", "Value": "LGR919G2AV"}
            },
        }
    }
    notice = mapping.parse_result(body)
    facts = mapping.transaction_facts(notice)
    assert notice.reference == {"Occasion": "LGR919G2AV"}
    assert facts.completed
    assert facts.amount_minor == 1000
    assert facts.credits("600134")
    assert facts.payer_phone == "+254708374149"
    assert facts.payer_name == "John Doe"


def test_balance_string_is_read_exactly() -> None:
    lines = mapping.parse_balance(
        "Working Account|KES|700000.00|700000.00|0.00|0.00&Utility Account|KES|228037.55|228037.55|0.00|0.00&bad"
    )
    assert [(line.account, line.available_minor) for line in lines] == [
        ("Working Account", 70_000_000),
        ("Utility Account", 22_803_755),
    ]


@given(shillings=st.integers(min_value=1, max_value=10**9), cents=st.integers(0, 99))
def test_any_two_decimal_amount_is_exact(shillings: int, cents: int) -> None:
    text = f"{shillings}.{cents:02d}"
    assert mapping.amount_minor(text) == shillings * 100 + cents
    assert mapping.amount_minor(Decimal(text)) == shillings * 100 + cents
