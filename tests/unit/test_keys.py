from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.table_codec import decode_key, encode_key

FORBIDDEN = set("/\\#?") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


@given(st.text(max_size=200))
def test_encode_is_reversible_and_legal(value: str) -> None:
    encoded = encode_key(value)
    assert decode_key(encoded) == value
    assert not set(encoded) & FORBIDDEN
    assert "|" not in encoded  # free for composite keys


@given(st.text(max_size=50), st.text(max_size=50))
def test_encode_is_injective(a: str, b: str) -> None:
    if a != b:
        assert encode_key(a) != encode_key(b)
