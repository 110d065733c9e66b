"""Registry views of the lab: WOW64 redirection, shared keys, x86 hosts, names."""

from __future__ import annotations

import pytest

from crashdump_lab import default_state, errors, registry
from crashdump_lab.registry import Registry

IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
WER = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
WOW_WER = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting"


@pytest.fixture
def reg64():
    return Registry(default_state("lab-win2022", "AMD64"))


def test_default_host_has_real_parents_but_no_localdumps(reg64):
    for key in (WER, IFEO, "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug", WOW_WER):
        assert reg64.exists(key, 64)
    assert not reg64.exists(WER + "\\LocalDumps", 64)
    assert not reg64.exists(WER + "\\LocalDumps", 32)
    assert reg64.value("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug", 64, "Auto") == \
        {"type": "REG_SZ", "data": "0"}


def test_every_key_has_its_parents():
    for arch in ("AMD64", "x86", "ARM64"):
        keys = {k.casefold() for k in default_state("h", arch)["registry"]}
        for k in keys:
            if "\\" in k:
                assert k.rsplit("\\", 1)[0] in keys


def test_view_32_is_redirected_to_wow6432node(reg64):
    created = reg64.create(WER + "\\LocalDumps\\app.exe", 32)
    assert created == [WER + "\\LocalDumps", WER + "\\LocalDumps\\app.exe"]
    assert reg64.exists(WOW_WER + "\\LocalDumps\\app.exe", 64)
    assert not reg64.exists(WER + "\\LocalDumps", 64)
    reg64.set_value(WER + "\\LocalDumps\\app.exe", 32, "DumpType", "REG_DWORD", 2)
    assert reg64.value(WOW_WER + "\\LocalDumps\\app.exe", 64, "DumpType")["data"] == 2


def test_wow6432node_path_in_view_32_is_not_doubled(reg64):
    assert reg64.physical(WOW_WER, 32)[:3] == ["HKLM", "SOFTWARE", "Wow6432Node"]
    assert reg64.physical(WOW_WER, 32).count("Wow6432Node") == 1


def test_ifeo_is_shared_between_views(reg64):
    assert reg64.create(IFEO + "\\app.exe", 32) == [IFEO + "\\app.exe"]
    reg64.set_value(IFEO + "\\app.exe", 32, "GlobalFlag", "REG_SZ", "0x02000000")
    assert reg64.value(IFEO + "\\app.exe", 64, "GlobalFlag")["data"] == "0x02000000"
    assert not reg64.exists("HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion\\"
                            "Image File Execution Options\\app.exe", 64)
    # The shared key shows under its 32-bit parent too.
    assert "Image File Execution Options" in reg64.subkeys("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", 32)


def test_shared_list_is_the_one_place():
    assert any(k.endswith("Image File Execution Options") for k in registry.SHARED_KEYS)


def test_aedebug_is_redirected(reg64):
    reg64.set_value("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug", 32, "Auto", "REG_SZ", "1")
    assert reg64.value("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug", 64, "Auto")["data"] == "0"


def test_x86_host_has_one_view():
    reg = Registry(default_state("lab-win10-x86"))
    assert not reg.exists("HKLM\\SOFTWARE\\Wow6432Node", 64)
    reg.create(WER + "\\LocalDumps", 32)
    assert reg.exists(WER + "\\LocalDumps", 64)
    assert reg.physical(WER, 32) == reg.physical(WER, 64)


def test_names_are_case_insensitive_and_keep_their_case(reg64):
    assert reg64.create("hklm\\software\\microsoft\\windows\\windows error reporting\\localdumps", 64) == \
        ["hklm\\software\\microsoft\\windows\\windows error reporting\\localdumps"]
    assert "localdumps" in reg64.subkeys(WER, 64)
    reg64.set_value(WER + "\\LOCALDUMPS", 64, "DumpCount", "REG_DWORD", 1)
    reg64.set_value(WER + "\\LocalDumps", 64, "dumpcount", "REG_DWORD", 2)
    assert reg64.read(WER + "\\LocalDumps", 64)["values"] == [{"name": "DumpCount", "type": "REG_DWORD", "data": 2}]
    assert reg64.delete_value(WER + "\\LocalDumps", 64, "DUMPCOUNT") is True


def test_subkeys_sorted_like_regenumkey(reg64):
    for name in ("b.exe", "A.exe", "c.exe"):
        reg64.create(IFEO + "\\" + name, 64)
    assert reg64.subkeys(IFEO, 64) == ["A.exe", "b.exe", "c.exe"]


def test_hkcu_is_the_administrators_hive_and_hkcr_the_classes_key(reg64):
    reg64.create("HKCU\\Software\\Test", 64)
    assert any(k.startswith("HKU\\S-1-5-21-") and k.endswith("-500\\Software\\Test") for k in reg64._keys)
    reg64.create("HKCR\\.dmp", 64)
    assert reg64.exists("HKLM\\SOFTWARE\\Classes\\.dmp", 64)


@pytest.mark.parametrize("value_type, data", [
    ("REG_DWORD", -1), ("REG_DWORD", 1 << 32), ("REG_DWORD", True), ("REG_QWORD", 1 << 64),
    ("REG_SZ", 5), ("REG_MULTI_SZ", "a"), ("REG_BINARY", "abc"), ("REG_BINARY", "zz"), ("REG_LINK", "x")])
def test_invalid_data_is_an_argument_error(value_type, data):
    with pytest.raises(errors.WinError) as e:
        registry.check_value(value_type, data)
    assert e.value.type_name == "System.ArgumentException"


def test_binary_is_stored_lower_case():
    assert registry.check_value("REG_BINARY", "00FF") == "00ff"


@pytest.mark.parametrize("key", ["", "HKXX\\SOFTWARE", "HKLM\\\\SOFTWARE", "SOFTWARE\\X"])
def test_bad_keys(reg64, key):
    with pytest.raises(errors.WinError):
        reg64.read(key, 64)


def test_last_write_time_changes_with_the_key_or_its_values_only(reg64):
    """KEY_BASIC_INFORMATION.LastWriteTime: the last time this key or any of its values changed."""
    key = IFEO + "\\app.exe"
    assert reg64.read(key, 64, last_write=True)["last_write"] is None
    assert reg64.read(IFEO, 64, last_write=True)["last_write"] == registry.UNRECORDED_WRITE
    assert "last_write" not in reg64.read(IFEO, 64)
    reg64.create(key, 64)
    created = reg64.read(key, 64, last_write=True)["last_write"]
    reg64.set_value(key, 64, "GlobalFlag", "REG_SZ", "0x02000000")
    written = reg64.read(key, 64, last_write=True)["last_write"]
    assert written > created
    assert reg64.read(key, 32, last_write=True)["last_write"] == written
    reg64.delete_value(key, 64, "Absent")
    assert reg64.read(key, 64, last_write=True)["last_write"] == written
    reg64.delete_value(key, 64, "GlobalFlag")
    assert reg64.read(key, 64, last_write=True)["last_write"] > written
