"""The version-number rule (docs/concepts/versions.md "Versions"): the reference on hand-worked
cases, and a Hypothesis property test comparing it with `corpus.store.numbers` (issue 18 case 14:
three patterns of version numbers disagreed)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import version_numbers as ref

from corpus.errors import StoreError
from corpus.store import is_version, parse_version
from corpus.store.numbers import format_version, next_minor, sort_versions


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("0.1.0", True), ("1.12.3", True), ("10.0.0", True), ("0.0.0", True),
        ("01.1.0", False), ("1.01.0", False), ("1.0", False), ("1.0.0.0", False),
        ("v1.0.0", False), ("1..0", False), ("", False), ("1.0.0 ", False), ("1.-1.0", False),
    ],
)  # fmt: skip
def test_reference_on_hand_worked_cases(text: str, valid: bool) -> None:
    assert ref.is_version(text) is valid


def test_reference_orders_numbers_not_strings() -> None:
    assert ref.older("0.9.0", "0.10.0")
    assert ref.older("1.2.3", "2.0.0")
    assert not ref.older("1.0.0", "1.0.0")


parts = st.text(alphabet="0123.", max_size=4)
texts = st.one_of(
    st.text(alphabet="0129.v -", max_size=9),
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", parts, parts, parts),
)


@settings(max_examples=300)
@given(texts)
def test_one_rule_decides_what_a_version_number_is(text: str) -> None:
    assert is_version(text) is ref.is_version(text)
    if ref.is_version(text):
        assert parse_version(text) == ref.version_tuple(text)
        assert format_version(*parse_version(text)) == text
        major, minor, _ = ref.version_tuple(text)
        assert next_minor(text) == f"{major}.{minor + 1}.0"
    else:
        with pytest.raises(StoreError):
            parse_version(text)


valid = st.builds(lambda *n: ".".join(map(str, n)), *[st.integers(0, 12)] * 3)


@settings(max_examples=200)
@given(st.lists(valid, max_size=6))
def test_versions_sort_as_the_reference_orders_them(names: list[str]) -> None:
    ordered = sort_versions(names)
    assert all(not ref.older(b, a) for a, b in itertools.pairwise(ordered))
