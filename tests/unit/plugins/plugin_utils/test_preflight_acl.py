"""May an account create a dump in a folder: SDDL parsing, the access check, inheritance into new folders."""

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _preflight_acl as acl

LS = acl.LOCAL_SERVICE
USER = "S-1-5-21-1-2-3-1001"
# A fresh C:\ and what crashdump.windows.local_dumps gives the folders it creates.
ROOT = "O:S-1-5-80-1G:S-1-5-80-1D:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)" \
       "(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)"
DUMPS = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"


def level(path, sddl=None, kind="directory"):
    return {"path": path, "exists": sddl is not None or kind == "file", "type": kind if sddl or kind == "file"
            else None, "sddl": sddl, "error": None}


def test_parse_components_aliases_and_rights():
    owner, aces = acl.parse("O:SYG:SYD:PAI(A;OICIID;FA;;;SY)(D;;WD;;;S-1-5-21-9)(A;CIIO;GW;;;CO)S:(AU;SA;FA;;;WD)")
    assert owner == "S-1-5-18"
    assert [(a.kind, sorted(a.flags), hex(a.mask), a.sid) for a in aces] == [
        ("A", ["CI", "ID", "OI"], "0x1f01ff", "S-1-5-18"),
        ("D", [], "0x40000", "S-1-5-21-9"),
        ("A", ["CI", "IO"], "0x120116", "S-1-3-0")]


def test_no_dacl_and_null_dacl_allow_everything():
    assert acl.parse("O:BAG:SY") == ("S-1-5-32-544", None)
    assert acl.parse("O:BAD:NO_ACCESS_CONTROL")[1] is None
    assert acl.check(None, None, {LS}, acl.FILE_ADD_FILE) == (True, None)
    assert acl.parse("O:BAD:P")[1] == []
    assert acl.check("S-1-5-32-544", [], {LS}, acl.FILE_ADD_FILE) == (False, None)


@pytest.mark.parametrize("bad", ["", "X:whatever", "O:BAD:(A;;FA)", "O:BAD:(A;;ZZ;;;WD)"])
def test_malformed_sddl(bad):
    with pytest.raises(acl.SddlError):
        acl.parse(bad)


def test_first_ace_naming_the_right_decides():
    owner, aces = acl.parse("O:BAD:(D;;0x2;;;AU)(A;;FA;;;WD)")
    assert acl.check(owner, aces, acl.token_sids(LS, True), acl.FILE_ADD_FILE) == (False, "(D;;0x2;;;S-1-5-11)")
    owner, aces = acl.parse("O:BAD:(A;;0x1;;;WD)(A;OICIIO;FA;;;AU)(A;;0x4;;;AU)")
    assert acl.check(owner, aces, acl.token_sids(LS, True), acl.FILE_ADD_FILE) == (False, None)
    assert acl.check(owner, aces, acl.token_sids(LS, True), acl.FILE_ADD_SUBDIRECTORY)[0] is True


def test_owner_rights_and_token_groups():
    owner, aces = acl.parse("O:%sD:(A;;FA;;;OW)" % USER)
    assert acl.check(owner, aces, acl.token_sids(USER, False), acl.FILE_ADD_FILE)[0] is True
    assert acl.check(owner, aces, acl.token_sids(LS, True), acl.FILE_ADD_FILE)[0] is False
    assert "S-1-5-32-544" in acl.token_sids(acl.SYSTEM, True) and "S-1-5-32-544" not in acl.token_sids(USER, False)
    assert "S-1-5-4" in acl.token_sids(USER, False) and "S-1-5-6" in acl.token_sids(LS, True)


def test_existing_folder():
    assert acl.folder_access([level("C:\\WER", DUMPS)], LS, True) == {
        "writable": True, "creatable": None, "checked": "C:\\WER", "ace": "(A;;0x1000a3;;;S-1-5-11)", "reason": None}
    locked = acl.folder_access([level("C:\\WER", "O:BAG:SYD:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)")], LS, True)
    assert locked["writable"] is False and locked["ace"] is None
    assert acl.folder_access([level("C:\\WER", "O:BAG:SYD:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)")], acl.SYSTEM,
                             True)["writable"] is True


def test_missing_folder_inherits_from_the_first_existing_parent():
    # Under C:\ every authenticated account may create a folder and gets write access to it.
    result = acl.folder_access([level("C:\\Dumps\\App"), level("C:\\Dumps"), level("C:\\", ROOT)], USER, False)
    assert result["writable"] is True and result["creatable"] is True and result["checked"] == "C:\\"
    # A profile folder private to its owner: another account may do nothing there.
    private = "O:%sG:%sD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;%s)" % (USER, USER, USER)
    levels = [level("C:\\Users\\alice\\AppData\\Local\\CrashDumps"), level("C:\\Users\\alice\\AppData\\Local", private)]
    assert acl.folder_access(levels, USER, False)["writable"] is True
    assert acl.folder_access(levels, LS, True) == {"writable": False, "creatable": False,
                                                   "checked": "C:\\Users\\alice\\AppData\\Local", "ace": None,
                                                   "reason": None}


def test_creator_owner_and_no_propagate():
    # CREATOR OWNER becomes the creating account; NP reaches the first new folder only.
    parent = "O:BAD:P(A;;0x4;;;WD)(A;CIIO;0x6;;;CO)(A;CINP;0x6;;;WD)"
    one = acl.folder_access([level("C:\\P\\a"), level("C:\\P", parent)], LS, True)
    assert one["writable"] is True and one["creatable"] is True
    two = acl.folder_access([level("C:\\P\\a\\b"), level("C:\\P\\a"), level("C:\\P", parent)], LS, True)
    assert two["writable"] is True
    only_np = "O:BAD:P(A;;0x4;;;WD)(A;CINP;0x6;;;WD)"
    two = acl.folder_access([level("C:\\P\\a\\b"), level("C:\\P\\a"), level("C:\\P", only_np)], LS, True)
    assert two["creatable"] is True and two["writable"] is True  # nothing inherited: the creator's default DACL
    mixed = "O:BAD:P(A;;0x4;;;WD)(A;CINP;0x4;;;WD)(A;CI;0x1;;;WD)"
    two = acl.folder_access([level("C:\\P\\a\\b"), level("C:\\P\\a"), level("C:\\P", mixed)], LS, True)
    assert two["creatable"] is True and two["writable"] is False


def test_a_file_in_the_way_and_unreadable_folders():
    assert acl.folder_access([level("C:\\WER\\x"), level("C:\\WER", kind="file")], LS, True)["reason"] == "is_file"
    unreadable = {"path": "C:\\Secret", "exists": True, "type": "directory", "sddl": None, "error": "denied"}
    assert acl.folder_access([unreadable], LS, True) == {"writable": None, "creatable": None, "checked": None,
                                                         "ace": None, "reason": "unreadable"}
    assert acl.folder_access([], LS, True)["writable"] is None


def test_differences_compares_only_the_named_parts_by_meaning():
    stored = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    assert acl.differences(stored, "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;0x1f01ff;;;S-1-5-32-544)") == []
    assert acl.differences(stored, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)") == []
    assert acl.differences(stored, "O:SYD:P(A;OICI;FA;;;SY)") == ["owner", "DACL"]
    assert acl.differences(stored, "G:BA") == ["group"]
    # Not protected: what the folder inherits does not count, the explicit ACEs must match.
    inherited = "O:BAG:SYD:AI(A;OICI;FA;;;BU)(A;OICIID;FA;;;SY)"
    assert acl.differences(inherited, "D:(A;OICI;FA;;;BU)") == []
    assert acl.differences(inherited, "D:P(A;OICI;FA;;;BU)") == ["DACL"]
