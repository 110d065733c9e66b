"""crashdump.windows.gflags through ansible-playbook against seeded lab hosts."""

import json

IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
UNDO = "HKLM\\SOFTWARE\\crashdump.windows\\Undo"
MANAGED = ("GlobalFlag", "PageHeapFlags")


def sz(data):
    return {"type": "REG_SZ", "data": data}


def dword(data):
    return {"type": "REG_DWORD", "data": data}


def ifeo(image, values, **subkeys):
    """A registry overlay: the image's IFEO key with ``values``, and subkeys with theirs."""
    keys = {"%s\\%s" % (IFEO, image): {"values": values}}
    keys.update({"%s\\%s\\%s" % (IFEO, image, name): {"values": v} for name, v in subkeys.items()})
    return {"registry": keys}


# One lab host per seeded IFEO state: how it is enabled, what the managed
# values are then, and how it is disabled again (which must give the start
# state back byte for byte).
CASES = {
    "ifeo-absent": {
        "image": "netsh.exe",
        "seed": {"processes": [{"name": "netsh.exe", "pid": 5120, "start_time": "2026-11-25T09:00:00.000Z",
                                "account": "SYSTEM", "path": "C:\\Windows\\System32\\netsh.exe",
                                "services": ["NetshHelper"]}]},
        "enable": {"page_heap": "full"},
        "expect": {"GlobalFlag": sz("0x02000000"), "PageHeapFlags": sz("0x3")},
        "disable": {"state": "absent"},
    },
    "ifeo-debugger": {
        "image": "MyApp.exe",
        "seed": ifeo("MyApp.exe", {"Debugger": sz("C:\\Tools\\vsjitdebugger.exe"),
                                   "VerifierDlls": sz("vfbasics.dll"),
                                   "MitigationOptions": {"type": "REG_BINARY", "data": "0001000000000000"}}),
        "enable": {"flags": ["ust", "htc"]},
        "expect": {"GlobalFlag": sz("0x00001010"), "PageHeapFlags": None},
        "disable": {"state": "absent", "flags": ["htc", "ust"]},
    },
    "ifeo-ust": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"GlobalFlag": sz("0x00001000")}),
        "enable": {"page_heap": "standard"},
        "expect": {"GlobalFlag": sz("0x02001000"), "PageHeapFlags": sz("0x2")},
        "disable": {"state": "absent", "flags": ["hpa"]},
    },
    "ifeo-dword": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"GlobalFlag": dword(0x1000)}),
        "enable": {"flags": ["hpa"]},
        "expect": {"GlobalFlag": dword(0x02001000), "PageHeapFlags": None},
        "disable": {"state": "absent"},
    },
    "ifeo-upper": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"GlobalFlag": sz("0X02000000")}),
        "enable": {"flags": [4096]},
        "expect": {"GlobalFlag": sz("0x02001000"), "PageHeapFlags": None},
        "disable": {"state": "absent", "flags": ["ust"]},
    },
    "ifeo-decimal": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"GlobalFlag": sz("4096")}),
        "enable": {"page_heap": "full"},
        "expect": {"GlobalFlag": sz("0x02001000"), "PageHeapFlags": sz("0x3")},
        "disable": {"page_heap": "off"},
    },
    "ifeo-pageheap": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"GlobalFlag": sz("0x02000000"), "PageHeapFlags": sz("0x2")}),
        "enable": {"page_heap": "full"},
        "expect": {"GlobalFlag": sz("0x02000000"), "PageHeapFlags": sz("0x3")},
        "disable": {"state": "absent"},
    },
    "ifeo-usefilter": {
        "image": "netsh.exe",
        "seed": ifeo("netsh.exe", {"UseFilter": dword(1)},
                     filter0={"FilterFullPath": sz("C:\\Tools\\netsh.exe"), "GlobalFlag": sz("0x00000100")},
                     filter1={"FilterFullPath": sz("C:\\Windows\\System32\\netsh.exe")}),
        "enable": {"flags": ["ust", "sls"]},
        "expect": {"GlobalFlag": sz("0x00001002"), "PageHeapFlags": None},
        "disable": {"state": "absent", "flags": ["sls", "ust"]},
    },
}

# The task, driven per host by the ``cases`` extra variable.
TASK = """
- name: {name}
  crashdump.windows.gflags:
    image: "{{{{ cases[inventory_hostname].image }}}}"
    state: "{{{{ cases[inventory_hostname].{step}.state | default(omit) }}}}"
    flags: "{{{{ cases[inventory_hostname].{step}.flags | default(omit) }}}}"
    page_heap: "{{{{ cases[inventory_hostname].{step}.page_heap | default(omit) }}}}"
"""


def tasks(*steps):
    return "".join(TASK.format(name="%s %d" % (step, i), step=step) for i, step in enumerate(steps))


def by_host(results):
    found = {}
    for host, result in results:
        found.setdefault(host, []).append(result)
    return found


def key(reg, path):
    """Case-insensitive lookup of a key in a lab registry dump."""
    return next((v for k, v in reg.items() if k.casefold() == path.casefold()), None)


def image_keys(reg, image):
    """The image's IFEO key and its subkeys, as the lab holds them."""
    prefix = ("%s\\%s" % (IFEO, image)).casefold()
    return {k: v for k, v in reg.items() if k.casefold() == prefix or k.casefold().startswith(prefix + "\\")}


def foreign(reg, image):
    """The image's keys with the values this module may write left out (keys left empty dropped)."""
    kept = {k: {n: x for n, x in v["values"].items() if n not in MANAGED} for k, v in image_keys(reg, image).items()}
    return {k: values for k, values in kept.items() if values}


def canonical(reg):
    return json.dumps(reg, sort_keys=True, ensure_ascii=False)


def trips(lab, hosts):
    return {h: lab.stats(h)["round_trips"] for h in hosts}


def test_enable_disable_cycles_end_byte_identical(lab):
    hosts = [lab.host(name, case["seed"]) for name, case in CASES.items()]
    cases = {name: {k: case[k] for k in ("image", "enable", "disable")} for name, case in CASES.items()}
    start = {h: lab.registry(h) for h in hosts}
    rt = trips(lab, hosts)

    # Check mode with diff: predicts the change, shows the values, changes nothing, reads once.
    run = lab.play(tasks("enable"), "--check", "--diff", extra_vars={"cases": cases})
    results = by_host(run.results)
    for h in hosts:
        assert results[h][0]["changed"] is True, (h, results[h])
        assert lab.registry(h) == start[h], h
        expect = CASES[h]["expect"]
        assert {n: results[h][0]["after"]["values"][n] for n in MANAGED} == expect, h
    assert '+"GlobalFlag"=REG_SZ:"0x02000000"' in run.stdout
    assert '-"GlobalFlag"=REG_DWORD:4096 (0x1000)' in run.stdout
    assert '+"GlobalFlag"=REG_DWORD:33558528 (0x2001000)' in run.stdout
    assert '-"PageHeapFlags"=REG_SZ:"0x2"' in run.stdout and '+"PageHeapFlags"=REG_SZ:"0x3"' in run.stdout
    assert '"Debugger"=REG_SZ:"C:\\\\Tools\\\\vsjitdebugger.exe"' in run.stdout
    assert trips(lab, hosts) == {h: rt[h] + 1 for h in hosts}

    # Enable, then again: the second run changes nothing in one round trip.
    rt = trips(lab, hosts)
    run = lab.play(tasks("enable", "enable"), extra_vars={"cases": cases})
    results = by_host(run.results)
    # The minimal callback prints warnings, untagged by host, instead of returning them.
    warnings = " ".join((run.stdout + run.stderr).split())
    for h in hosts:
        first, second = results[h]
        assert (first["changed"], second["changed"]) == (True, False), (h, results[h])
        assert first["undo_record"] is True
        reg = lab.registry(h)
        values = key(reg, "%s\\%s" % (IFEO, CASES[h]["image"]))["values"]
        assert {n: values.get(n) for n in MANAGED} == CASES[h]["expect"], h
        # Nothing but GlobalFlag and PageHeapFlags changed under the image key.
        assert foreign(reg, CASES[h]["image"]) == foreign(start[h], CASES[h]["image"]), h
        assert key(reg, UNDO)["values"]
    assert trips(lab, hosts) == {h: rt[h] + 3 for h in hosts}

    # What the enable returned: decoded flags, restart hint, warnings.
    absent = results["ifeo-absent"][0]
    assert absent["before"] == {"global_flag": None, "flags": [], "page_heap": "off",
                                "values": {"GlobalFlag": None, "PageHeapFlags": None}}
    assert absent["after"]["flags"] == ["hpa"] and absent["after"]["page_heap"] == "full"
    assert absent["restart_required"] is True
    assert [(p["pid"], p["services"]) for p in absent["processes"]] == [(5120, ["NetshHelper"])]
    assert "full page heap multiplies the memory use of netsh.exe" in warnings
    debugger = results["ifeo-debugger"][0]
    assert debugger["debugger"] == "C:\\Tools\\vsjitdebugger.exe"
    assert "SECURITY: an IFEO Debugger is set for MyApp.exe: Windows starts 'C:\\\\Tools\\\\vsjitdebugger.exe'" \
        in warnings
    assert debugger["after"]["flags"] == ["htc", "ust"] and debugger["restart_required"] is False
    assert results["ifeo-upper"][0]["before"]["flags"] == ["hpa"]
    assert results["ifeo-upper"][0]["after"]["global_flag"] == "0x02001000"
    assert results["ifeo-decimal"][0]["before"]["global_flag"] == "0x00001000"
    assert (results["ifeo-pageheap"][0]["before"]["page_heap"], results["ifeo-pageheap"][0]["after"]["page_heap"]) \
        == ("standard", "full")
    assert "UseFilter is set for netsh.exe" in warnings

    # Disable in check mode, then for real, then again.
    rt = trips(lab, hosts)
    enabled = {h: lab.registry(h) for h in hosts}
    results = by_host(lab.play(tasks("disable"), "--check", extra_vars={"cases": cases}).results)
    for h in hosts:
        assert results[h][0]["changed"] is True and lab.registry(h) == enabled[h], h
    results = by_host(lab.play(tasks("disable", "disable"), extra_vars={"cases": cases}).results)
    for h in hosts:
        first, second = results[h]
        assert (first["changed"], second["changed"]) == (True, False), (h, results[h])
        assert first["undo_record"] is False
        assert canonical(lab.registry(h)) == canonical(start[h]), h
    assert trips(lab, hosts) == {h: rt[h] + 1 + 2 + 1 for h in hosts}


def test_clearing_bits_set_by_hand_keeps_the_value(lab):
    for name, value in (("hand-sz", sz("0x02000000")), ("hand-dword", dword(0x02001000))):
        lab.host(name, ifeo("netsh.exe", {"GlobalFlag": value}))
    run = lab.play("""
- crashdump.windows.gflags:
    image: netsh.exe
    state: absent
    flags: [hpa]
- crashdump.windows.gflags:
    image: netsh.exe
    state: absent
    flags: [hpa]
- crashdump.windows.gflags:
    image: netsh.exe
    state: absent
""")
    results = by_host(run.results)
    assert [r["changed"] for r in results["hand-sz"]] == [True, False, False]
    assert [r["changed"] for r in results["hand-dword"]] == [True, False, False]
    assert all(r["undo_record"] is False for rs in results.values() for r in rs)
    assert "no record of changes by crashdump.windows.gflags for netsh.exe: nothing to undo" in " ".join(
        (run.stdout + run.stderr).split())
    # Not created by this module: cleared to 0 in its own type, never deleted.
    key_path = "%s\\netsh.exe" % IFEO
    assert key(lab.registry("hand-sz"), key_path)["values"] == {"GlobalFlag": sz("0x00000000")}
    assert key(lab.registry("hand-dword"), key_path)["values"] == {"GlobalFlag": dword(0x1000)}
    assert key(lab.registry("hand-sz"), UNDO) is None


def test_refusals_send_nothing(lab):
    lab.host("win")
    refused = [
        ({"image": "netsh.exe", "flags": ["ksl"]}, "'ksl' is a system-wide or kernel flag"),
        ({"image": "netsh.exe", "flags": ["bogus"]}, "unknown image-file flag 'bogus'; valid flags: soe"),
        ({"image": "netsh.exe", "flags": [0x40000]}, "not image-file flags"),
        ({"image": "netsh.exe", "flags": [0x200]}, "Silent Process Exit"),
        ({"image": "lsass.exe", "flags": ["ust"]}, "lsass.exe is a sensitive system process"),
        ({"image": "C:\\Windows\\netsh.exe", "flags": ["ust"]}, "is a path"),
        ({"image": "netsh.exe", "flags": ["hpa"], "page_heap": "full"}, "give page_heap, not hpa"),
        ({"image": "netsh.exe", "state": "absent", "page_heap": "off"}, "page_heap only applies with state=present"),
        ({"image": "netsh.exe"}, "nothing to set"),
    ]
    body = "".join("- crashdump.windows.gflags: %s\n  ignore_errors: true\n" % json.dumps(args)
                   for args, _message in refused)
    start = lab.state("win")
    run = lab.play(body)
    assert run.stdout.count("win | FAILED! => ") == len(run.results) == len(refused)
    for (_host, result), (args, message) in zip(run.results, refused):
        assert message in result["msg"], (args, result["msg"])
    assert lab.registry("win") == start["registry"]
    assert lab.stats("win")["round_trips"] == start["counters"]["round_trips"]


def test_unreadable_global_flag_fails_after_one_read(lab):
    lab.host("win", ifeo("netsh.exe", {"GlobalFlag": sz("page heap please")}))
    start = lab.state("win")
    run = lab.play("- crashdump.windows.gflags: {image: netsh.exe, flags: [ust]}", check=False)
    assert run.returncode != 0 and "win | FAILED! => " in run.stdout
    assert "GlobalFlag" in run.results[0][1]["msg"] and "Nothing was changed" in run.results[0][1]["msg"]
    assert lab.registry("win") == start["registry"]
    assert lab.stats("win")["round_trips"] == start["counters"]["round_trips"] + 1
