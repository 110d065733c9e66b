"""Paths the user gives for the host: refused before anything is sent when Windows would resolve them against a
current directory; a dump folder on a share is warned about by preflight."""

from __future__ import annotations

import json

LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


def one(lab, task):
    proc = lab.play(task, check=False)
    (result,) = [r for _host, r in proc.results]
    return proc.returncode, result


def test_relative_host_paths_are_refused_before_anything_is_sent(lab):
    lab.host("win")
    before = lab.stats("win")["round_trips"]
    tasks = [("local_dumps", {"exe": "netsh.exe", "dump_folder": "C:WER"}, "is drive-relative"),
             ("local_dumps", {"exe": "netsh.exe", "dump_folder": "\\WER"}, "relative to the root of the current"),
             ("preflight", {"exe": "netsh.exe", "dump_folder": "dumps"}, "is relative: Windows would resolve"),
             ("fetch_dumps", {"exe": "netsh.exe", "dest": "/tmp/x", "extra_folders": ["D:dumps"]},
              "is drive-relative"),
             ("local_dumps", {"exe": "netsh.exe", "dump_folder": "\\\\files\\dumps", "create_folder": True},
              "create \\\\files\\dumps on the share yourself")]
    for module, args, reason in tasks:
        rc, result = one(lab, "- crashdump.windows.%s: %s" % (module, json.dumps(args)))
        assert rc != 0 and reason in result["msg"], result
    assert lab.stats("win")["round_trips"] == before


def test_preflight_warns_of_a_dump_folder_on_a_share(lab):
    lab.host("win", {"registry": {LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_DWORD", "data": 5}}}}})
    rc, result = one(lab, "- crashdump.windows.preflight: " + json.dumps(
        {"exe": "netsh.exe", "dump_folder": "\\\\files\\dumps\\web", "account": "LocalService"}))
    assert "findings" in result, result
    shares = [f for f in result["findings"] if f["id"] == "dump_folder_on_share"]
    assert shares and all(f["evidence"]["folder"] == "\\\\files\\dumps\\web" for f in shares), result["findings"]
    assert any("anonymous" in f["message"] for f in shares)
    assert not any(f["id"] == "dump_folder_invalid" for f in result["findings"]), result["findings"]
