"""15- and 18-character Salesforce ids (SALESFORCE.md §8: the case-safe suffix)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfsync.ids import InvalidId, is_id, key_prefix, to18

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def reference_suffix(id15: str) -> str:
    """SALESFORCE.md §8, written out independently: bit i of each 5-char chunk = char i is A-Z."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    chunks = [id15[0:5], id15[5:10], id15[10:15]]
    return "".join(
        alphabet[sum(2**i for i, ch in enumerate(chunk) if ch.isascii() and ch.isupper())]
        for chunk in chunks
    )


# Each pair checked by hand; chunk bits shown as (chunk: uppercase positions -> value -> char).
KNOWN = [
    # 001A0: A@3 -> 8 -> I | 00000 -> 0 -> A | 6Vm9r: V@1 -> 2 -> C
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
    # 00Q5g: Q@2 -> 4 -> E | 00000 -> A | AbCdE: A@0 C@2 E@4 -> 21 -> V
    ("00Q5g00000AbCdE", "00Q5g00000AbCdEEAV"),
    # 005xx: none -> A | 0000a: none -> A | bcdef: none -> A
    ("005xx0000abcdef", "005xx0000abcdefAAA"),
    # every char uppercase: 31 -> 5 in each chunk
    ("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555"),
    # 00GZZ: G@2 Z@3 Z@4 -> 28 -> 2 | Z0000: Z@0 -> 1 -> B | 0000Z: Z@4 -> 16 -> Q
    ("00GZZZ00000000Z", "00GZZZ00000000Z2BQ"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_to18_known_pairs(id15: str, id18: str) -> None:
    assert reference_suffix(id15) == id18[15:]
    assert to18(id15) == id18
    assert to18(id18) == id18
    assert to18(f"  {id15}\n") == id18


@pytest.mark.parametrize(
    "wrong",
    [
        "001A0000006Vm9rAAA",  # suffix of another casing
        "001A0000006Vm9rIAD",
        "001a0000006Vm9rIAC",  # body case changed, suffix kept
        "001A0000006VM9RIAC",
    ],
)
def test_wrong_suffix_refused(wrong: str) -> None:
    with pytest.raises(InvalidId, match="suffix"):
        to18(wrong)
    assert not is_id(wrong)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "001",
        "001A0000006Vm9",  # 14
        "001A0000006Vm9rI",  # 16
        "001A0000006Vm9rIA",  # 17
        "001A0000006Vm9rIAC1",  # 19
        "001A0000006Vm9!",
        "001A0000006Vm9 r",
        "001A0000006Vm9rIAc",  # lowercase suffix char
        "001A0000006Vm9rIA6",  # 6 is not in the suffix alphabet
        "001A0000006Vm9ré",
        "001A0000006Vm9r\x00",
        "' OR Id != '1234",
    ],
)
def test_junk_refused(junk: str) -> None:
    with pytest.raises(InvalidId):
        to18(junk)
    assert not is_id(junk)


@pytest.mark.parametrize("good", [pair[0] for pair in KNOWN] + [pair[1] for pair in KNOWN])
def test_is_id(good: str) -> None:
    assert is_id(good)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=ALNUM, min_size=15, max_size=15))
def test_to18_matches_the_reference_and_is_idempotent(id15: str) -> None:
    id18 = to18(id15)
    assert id18 == id15 + reference_suffix(id15)
    assert to18(id18) == id18
    assert is_id(id18) and is_id(id15)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=ALNUM, min_size=15, max_size=15), st.integers(0, 14))
def test_a_case_change_is_caught_by_the_suffix(id15: str, position: int) -> None:
    ch = id15[position]
    if not ch.isalpha():
        return
    flipped = id15[:position] + ch.swapcase() + id15[position + 1 :]
    assert to18(flipped) != to18(id15)
    with pytest.raises(InvalidId):
        to18(flipped + to18(id15)[15:])


@pytest.mark.parametrize(
    ("value", "prefix"),
    [("00Q000000000001AAA", "00Q"), ("005xx000001SwiUAAS", "005"), ("00G000000000001", "00G")],
)
def test_key_prefix(value: str, prefix: str) -> None:
    assert key_prefix(value) == prefix
