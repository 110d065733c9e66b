"""The lab's SDDL model: inheritance into new folders and files, and the
add-file check WER's folder test relies on."""

from __future__ import annotations

import pytest

from crashdump_lab import sddl

ALICE = "S-1-5-21-1-2-3-1001"
USER = {ALICE, "S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-4"}
C_ROOT = "O:SYG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)"


@pytest.mark.parametrize("dacl, allowed", [
    ("D:(A;;FA;;;WD)", True), ("D:(A;;GA;;;AU)", True), ("D:(A;;GW;;;BU)", True), ("D:(A;;FW;;;IU)", True),
    ("D:(A;;0x1f01ff;;;%s)" % ALICE, True), ("D:(A;;0x2;;;BU)", True), ("D:(A;;DC;;;BU)", True),
    ("D:(A;;FR;;;WD)", False), ("D:(A;;FA;;;BA)", False), ("D:(A;;FA;;;SY)", False), ("D:", False),
    ("D:(A;OICIIO;FA;;;WD)", False), ("D:(D;;0x2;;;WD)(A;;FA;;;WD)", False),
    ("D:(A;;FA;;;CO)", False), ("D:NO_ACCESS_CONTROL", True), ("O:BA", True),
])
def test_allows_add_file(dacl, allowed):
    assert sddl.allows_add_file("O:BAG:SY" + dacl if not dacl.startswith("O:") else dacl, USER) is allowed


def test_creator_owner_matches_the_owner():
    assert sddl.allows_add_file("O:%sD:(A;;FA;;;CO)" % ALICE, USER)


def test_folder_under_c_root_gives_authenticated_users_modify():
    child = sddl.inherit(C_ROOT, True, ALICE)
    assert child.startswith("O:%sG:%sD:AI" % (ALICE, ALICE))
    assert "(A;OICIID;0x1301bf;;;AU)" in child and "(A;;LC;;;AU)" not in child
    assert sddl.allows_add_file(child, USER)


def test_creator_owner_is_replaced_for_the_creator_and_kept_for_children():
    parent = "O:BAG:SYD:P(A;OICIIO;GA;;;CO)(A;OICI;FA;;;SY)"
    child = sddl.inherit(parent, True, ALICE)
    assert "(A;ID;FA;;;%s)" % ALICE in child and "(A;OICIIOID;GA;;;CO)" in child
    assert "(A;ID;FA;;;%s)" % ALICE in sddl.inherit(parent, False, ALICE)


def test_no_propagate_and_object_only_aces():
    parent = "O:BAG:SYD:P(A;CINP;FA;;;BU)(A;OI;FR;;;WD)"
    folder = sddl.inherit(parent, True, "BA")
    assert "(A;ID;FA;;;BU)" in folder and "(A;OIIOID;FR;;;WD)" in folder
    # NP stopped at the first level; an object-only ACE keeps travelling down for files.
    assert sddl.split(sddl.inherit(folder, True, "BA"))["D"] == "AI(A;OIIOID;FR;;;WD)"


@pytest.mark.parametrize("bad", ["", "X:BA", "O:BAO:BA", "D:(A;;FA;;)", "D:(Z;;FA;;;WD)", "D:(A;;QQ;;;WD)",
                                 "D:junk(A;;FA;;;WD)", "O:not a sid"])
def test_invalid(bad):
    with pytest.raises(sddl.SddlError):
        sddl.validate(bad)


def test_apply_compares_by_meaning():
    current = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    assert sddl.apply(current, "O:S-1-5-32-544G:SYD:P(A;OICI;0x1f01ff;;;SY)(A;OICI;FA;;;BA)", [])[1] is False
    assert sddl.apply(current, "D:P(A;OICI;FA;;;SY)", []) == ("O:BAG:SYD:PAI(A;OICI;FA;;;SY)", True)
