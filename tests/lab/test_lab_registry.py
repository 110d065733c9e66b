"""Registry views of the lab: WOW64 redirection, shared keys, x86 hosts, names."""

from __future__ import annotations

import pytest

from crashdump_lab import default_state, errors, registry, wow64
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
    assert any(k.endswith("Image File Execution Options") for k in wow64.LISTED)


# Microsoft, "Registry Keys Affected by WOW64", Windows 7 / 2008 R2 and newer (lab/crashdump_lab/wow64.py).
APP_PATHS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths"


def test_the_table_has_every_row_of_the_page():
    # The page's 58 HKEY_LOCAL_MACHINE rows, less the hive root itself.
    assert len(wow64.LISTED) == 57
    assert APP_PATHS in wow64.LISTED


def test_app_paths_is_shared_since_windows_7(reg64):
    reg64.create(APP_PATHS + "\\app.exe", 64)
    reg64.set_value(APP_PATHS + "\\app.exe", 64, "", "REG_SZ", "C:\\App\\app.exe")
    assert reg64.value(APP_PATHS + "\\app.exe", 32, "")["data"] == "C:\\App\\app.exe"
    assert "App Paths" in reg64.subkeys("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion", 32)
    assert not reg64.exists(APP_PATHS.replace("SOFTWARE", "SOFTWARE\\Wow6432Node", 1), 64)


@pytest.mark.parametrize("key, physical", [
    # Unlisted: inherits SOFTWARE's redirection.
    ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
     "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run"),
    # Shared rows, and their subkeys.
    ("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Fonts\\x",
     "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Fonts\\x"),
    ("HKLM\\SOFTWARE\\Classes\\.dmp", "HKLM\\SOFTWARE\\Classes\\.dmp"),
    ("HKCR\\AppID\\x", "HKLM\\SOFTWARE\\Classes\\AppID\\x"),
    # Redirected below a shared key: the node is Classes\Wow6432Node.
    ("HKCR\\CLSID\\{0}", "HKLM\\SOFTWARE\\Classes\\Wow6432Node\\CLSID\\{0}"),
    ("HKLM\\SOFTWARE\\Classes\\Interface", "HKLM\\SOFTWARE\\Classes\\Wow6432Node\\Interface"),
    # HKCU: SOFTWARE shared, its Classes too, but for the same redirected subkeys.
    ("HKCU\\Software\\Vendor", "HKU\\{sid}\\Software\\Vendor"),
    ("HKCU\\Software\\Classes\\CLSID", "HKU\\{sid}\\Software\\Classes\\Wow6432Node\\CLSID"),
    # Outside SOFTWARE: shared.
    ("HKLM\\SYSTEM\\CurrentControlSet", "HKLM\\SYSTEM\\CurrentControlSet"),
])
def test_view_32_follows_the_table(reg64, key, physical):
    sid = reg64._hkcu.split("\\")[1]
    assert "\\".join(reg64.physical(key, 32)) == physical.replace("{sid}", sid)


def test_a_redirected_name_under_a_shared_key_shows_only_where_it_exists(reg64):
    reg64.create("HKLM\\SOFTWARE\\Classes\\CLSID", 64)
    assert "CLSID" in reg64.subkeys("HKLM\\SOFTWARE\\Classes", 64)
    assert "CLSID" not in reg64.subkeys("HKLM\\SOFTWARE\\Classes", 32)
    reg64.create("HKLM\\SOFTWARE\\Classes\\CLSID", 32)
    assert "CLSID" in reg64.subkeys("HKLM\\SOFTWARE\\Classes", 32)


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


# Data of odd size (lab/crashdump_lab/regdata.py: RegSetValueEx stores any bytes under any type;
# RegistryKey.GetValue converts them without checking the size).
@pytest.mark.parametrize("value_type, raw", [
    ("REG_DWORD", "0a00000000"),          # 5 bytes: .NET reads it as an Int64
    ("REG_DWORD", "0a00"),                # 2 bytes: .NET pads it to an Int32
    ("REG_QWORD", "01"),
    ("REG_SZ", "6100620000000000"),       # "ab" and two NULs: .NET keeps one in the string
    ("REG_SZ", "6100620000"),             # odd byte count
    ("REG_SZ", ""),                       # no terminator at all
    ("REG_MULTI_SZ", "610000006200"),     # "a", then "b" without its NUL or the list's
    ("REG_LINK", "5c0052006500"),         # types with no RegistryValueKind are bytes only
    ("REG_RESOURCE_LIST", "01000000"),
])
def test_odd_size_data_is_kept_as_raw_bytes(reg64, value_type, raw):
    reg64.set_value(WER, 64, "odd", value_type, raw, raw=True)
    assert reg64.value(WER, 64, "odd") == {"type": value_type, "data": raw, "raw": True}
    assert {"name": "odd", "type": value_type, "data": raw, "raw": True} in reg64.read(WER, 64)["values"]


@pytest.mark.parametrize("value_type, raw, typed", [
    ("REG_DWORD", "0a000000", 10), ("REG_QWORD", "ffffffffffffffff", 2 ** 64 - 1),
    ("REG_SZ", "61000000", "a"), ("REG_EXPAND_SZ", "0000", ""),
    ("REG_MULTI_SZ", "6100000000000000", ["a", ""]), ("REG_MULTI_SZ", "0000", []),
    ("REG_BINARY", "00FF", "00ff"), ("REG_NONE", "", ""),
])
def test_raw_bytes_in_the_canonical_form_are_the_typed_value(reg64, value_type, raw, typed):
    reg64.set_value(WER, 64, "v", value_type, raw, raw=True)
    assert reg64.value(WER, 64, "v") == {"type": value_type, "data": typed}


@pytest.mark.parametrize("value_type, data", [("REG_UNKNOWN", "00"), ("REG_DWORD", "abc"), ("REG_SZ", 5)])
def test_raw_data_must_be_whole_bytes_of_a_known_type(reg64, value_type, data):
    with pytest.raises(errors.WinError) as e:
        reg64.set_value(WER, 64, "v", value_type, data, raw=True)
    assert e.value.type_name == "System.ArgumentException"


@pytest.mark.parametrize("value_type, raw, converted", [
    ("REG_SZ", "43003a005c0057000000", "C:\\W"),
    ("REG_EXPAND_SZ", "43003a005c00570000000000", "C:\\W\0"),   # one of two NULs kept
    ("REG_SZ", "43003a005c0057", "C:\\W"),                      # no terminator: every character kept
    ("REG_SZ", "43003a5c", "C\u5c3a"),                          # characters as the bytes pair up
    ("REG_SZ", "430000", "C"),                                  # odd count: padded, then the NUL dropped
    ("REG_MULTI_SZ", "610000006200", ["a", "b"]),
    ("REG_MULTI_SZ", "61000000000062000000", ["a", "", "b"]),
    ("REG_DWORD", "0a00", 10), ("REG_DWORD", "0a00000001", 0x10000000a),
    ("REG_DWORD", "000000000000000001", "000000000000000001"),
])
def test_what_registrykey_getvalue_makes_of_odd_data(reg64, value_type, raw, converted):
    reg64.set_value(WER, 64, "odd", value_type, raw, raw=True)
    assert reg64.get_value(WER, 64, "odd") == {"type": value_type, "data": converted}


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
