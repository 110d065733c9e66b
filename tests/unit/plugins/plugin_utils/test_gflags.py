"""The pure GFlags facts: flag table, GlobalFlag / PageHeapFlags parsing and formatting."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.crashdump.windows.plugins.plugin_utils import _gflags

# The image-file flag table as windows-facts.md gives it (abbreviation, bit).
FACTS_TABLE = [
    ("soe", 0x1), ("sls", 0x2), ("htc", 0x10), ("hfc", 0x20), ("hpc", 0x40), ("hvc", 0x80), ("vrf", 0x100),
    ("htg", 0x800), ("ust", 0x1000), ("htd", 0x8000), ("dse", 0x10000), ("scb", 0x100000), ("dhc", 0x200000),
    ("hpa", 0x2000000), ("cse", 0x10000000), ("sue", 0x20000000), ("dpd", 0x80000000),
]


def sz(data):
    return {"type": "REG_SZ", "data": data}


def dword(data):
    return {"type": "REG_DWORD", "data": data}


def test_table_matches_windows_facts_in_bit_order():
    assert [(name, bit) for name, (bit, _description) in _gflags.IMAGE_FLAGS.items()] == FACTS_TABLE
    assert _gflags.IMAGE_MASK == sum(bit for _name, bit in FACTS_TABLE)
    assert _gflags.HPA == 0x02000000
    assert all(description for _bit, description in _gflags.IMAGE_FLAGS.values())


def test_system_only_names_are_not_image_flags():
    assert not _gflags.SYSTEM_ONLY_FLAGS & set(_gflags.IMAGE_FLAGS)
    assert not _gflags.SILENT_PROCESS_EXIT & _gflags.IMAGE_MASK


@pytest.mark.parametrize("flag, bits", [
    ("hpa", 0x02000000),
    ("HPA", 0x02000000),
    (" ust ", 0x1000),
    (0x1000, 0x1000),
    (0x02001000, 0x02001000),
    ("0x02000000", 0x02000000),
    ("0X80000000", 0x80000000),
    ("4096", 0x1000),
    (0x80000000, 0x80000000),
])
def test_flag_bits_accepts(flag, bits):
    assert _gflags.flag_bits(flag) == bits


@pytest.mark.parametrize("flag, message", [
    ("xyz", "unknown image-file flag 'xyz'; valid flags: soe, sls"),
    ("", "unknown image-file flag"),
    ("ksl", "'ksl' is a system-wide or kernel flag"),
    ("PTG", "'PTG' is a system-wide or kernel flag"),
    ("otl", "system-wide or kernel"),
    (0x200, "Silent Process Exit"),
    ("0x200", "Silent Process Exit"),
    (0x40000, "0x00040000 has bits that are not image-file flags (system-wide, kernel or unknown): 0x00040000"),
    (0x02040000, "not image-file flags (system-wide, kernel or unknown): 0x00040000"),
    (0, "not a non-zero 32-bit value"),
    (-1, "not a non-zero 32-bit value"),
    (0x100000000, "not a non-zero 32-bit value"),
    (True, "is not a flag"),
    (1.5, "is not a flag"),
    (None, "is not a flag"),
    ({"hpa": 1}, "is not a flag"),
])
def test_flag_bits_refuses_clearly(flag, message):
    with pytest.raises(_gflags.FlagError) as e:
        _gflags.flag_bits(flag)
    assert message in str(e.value)


def test_flags_mask_combines_and_names_the_bad_entry():
    assert _gflags.flags_mask([]) == 0
    assert _gflags.flags_mask(["ust", "hpa", 0x10, "ust"]) == 0x02001010
    with pytest.raises(_gflags.FlagError, match="'bogus'"):
        _gflags.flags_mask(["ust", "bogus"])


@pytest.mark.parametrize("value, number", [
    (None, None),
    (sz("0x02000000"), 0x02000000),
    (sz("0X02000000"), 0x02000000),
    (sz("0x0200000A"), 0x0200000A),
    (sz("0x0200000a"), 0x0200000A),
    (sz("0x1000"), 0x1000),
    (sz("33554432"), 0x02000000),
    (sz("0"), 0),
    (sz(" 0x10 "), 0x10),
    (sz("0xffffffff"), 0xFFFFFFFF),
    (dword(0x02001000), 0x02001000),
    (dword(0), 0),
])
def test_parse_number(value, number):
    assert _gflags.parse_number(value) == number


@pytest.mark.parametrize("value", [
    sz(""), sz("0x"), sz("hpa"), sz("0x12g"), sz("-1"), sz("1e3"), sz("0x100000000"), sz("4294967296"),
    {"type": "REG_EXPAND_SZ", "data": "0x1000"}, {"type": "REG_BINARY", "data": "00100000"},
    {"type": "REG_QWORD", "data": 0x1000}, {"type": "REG_MULTI_SZ", "data": ["0x1000"]}, dword(True),
])
def test_parse_number_refuses_what_is_not_ours_to_reinterpret(value):
    with pytest.raises(ValueError):
        _gflags.parse_number(value)


@pytest.mark.parametrize("mask, text", [
    (0, "0x00000000"), (0x1000, "0x00001000"), (0x02000000, "0x02000000"), (0xFFFFFFFF, "0xffffffff")])
def test_format_global_flag_as_gflags_writes_it(mask, text):
    assert _gflags.format_global_flag(mask) == text


@pytest.mark.parametrize("like, expected", [
    (None, sz("0x02001000")),
    (sz("0X00001000"), sz("0x02001000")),
    (sz("4096"), sz("0x02001000")),
    (dword(0x1000), dword(0x02001000)),
])
def test_number_value_keeps_a_dword_and_writes_reg_sz_otherwise(like, expected):
    assert _gflags.number_value(0x02001000, like, _gflags.format_global_flag) == expected


@pytest.mark.parametrize("mask, names", [
    (0, []),
    (0x02001000, ["ust", "hpa"]),
    (0x80000001, ["soe", "dpd"]),
    (0x00000200, ["0x00000200"]),
    (0x02040000, ["0x00040000", "hpa"]),
])
def test_decode(mask, names):
    assert _gflags.decode(mask) == names


@pytest.mark.parametrize("mode, current, flags", [
    ("full", None, 0x3),
    ("standard", None, 0x2),
    ("full", 0x2, 0x3),
    ("standard", 0x3, 0x2),
    ("full", 0x20, 0x23),
    ("standard", 0x21, 0x22),
])
def test_page_heap_flags_as_gflags_p_enable_keeping_other_bits(mode, current, flags):
    assert _gflags.page_heap_flags_for(mode, current) == flags


@pytest.mark.parametrize("mask, page_heap_flags, mode", [
    (None, None, "off"),
    (0x1000, 0x3, "off"),
    (0x02000000, None, "default"),
    (0x02000000, 0x3, "full"),
    (0x02000000, 0x2, "standard"),
    (0x02001000, 0x1, "full"),
])
def test_page_heap_mode(mask, page_heap_flags, mode):
    assert _gflags.page_heap_mode(mask, page_heap_flags) == mode


def test_image_key():
    assert _gflags.image_key("netsh.exe") == (
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\netsh.exe")


u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
image_masks = st.sets(st.sampled_from([bit for _name, bit in FACTS_TABLE])).map(sum)


@given(u32)
def test_format_then_parse_round_trips(mask):
    text = _gflags.format_global_flag(mask)
    assert _gflags.parse_number(sz(text)) == mask
    assert _gflags.parse_number(sz(text.upper().replace("X", "x"))) == mask
    assert _gflags.parse_number(sz(text.upper())) == mask
    assert _gflags.parse_number(sz(str(mask))) == mask
    assert _gflags.parse_number(dword(mask)) == mask


@given(u32)
def test_parse_then_format_is_canonical(mask):
    for spelling in ("0x%x" % mask, "0X%08X" % mask, "%d" % mask):
        assert _gflags.format_global_flag(_gflags.parse_number(sz(spelling))) == _gflags.format_global_flag(mask)


@given(image_masks)
def test_decoded_names_give_the_mask_back(mask):
    names = _gflags.decode(mask)
    assert all(name in _gflags.IMAGE_FLAGS for name in names)
    assert _gflags.flags_mask(names) == mask


@given(u32)
def test_decode_covers_every_bit_once(mask):
    names = _gflags.decode(mask)
    assert len(names) == bin(mask).count("1")
    rebuilt = sum(_gflags.IMAGE_FLAGS[n][0] if n in _gflags.IMAGE_FLAGS else int(n, 16) for n in names)
    assert rebuilt == mask
