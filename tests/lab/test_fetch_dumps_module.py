"""crashdump.windows.fetch_dumps through ansible-playbook against lab hosts."""

import base64
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

from crashdump_lab import load_state

LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
LD32 = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
ALICE_DUMPS = "C:\\Users\\alice\\AppData\\Local\\CrashDumps"
TEMP = "C:\\Users\\Administrator\\AppData\\Local\\Temp\\crashdump.windows-harvest"
CHUNK = 512 * 1024

# netsh.exe: full dumps in C:\WER. Global: %LOCALAPPDATA%\GlobalDumps for every
# other image (per profile), and in the 32-bit view a folder that cannot be
# resolved per profile.
SEED = {"registry": {
    LD + "\\netsh.exe": {"values": {"DumpType": {"type": "REG_DWORD", "data": 2},
                                    "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"}}},
    LD: {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "%LOCALAPPDATA%\\GlobalDumps"}}},
    LD32: {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "D:\\Dumps\\%USERNAME%"}}},
}}


def noise(seed, size):
    """Incompressible, reproducible bytes."""
    blocks = (hashlib.sha256(b"%s|%d" % (seed.encode(), i)).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def dump_file(data, mtime=None):
    entry = {"content_base64": base64.b64encode(data).decode("ascii")}
    if mtime:
        entry["mtime"] = mtime
    return entry


def fetch(lab, *args, check=True, **options):
    """One fetch_dumps task; returns (process, result)."""
    proc = lab.play("- crashdump.windows.fetch_dumps: " + json.dumps(options), *args, check=check)
    assert len(proc.results) == 1, proc.stdout + proc.stderr
    return proc, proc.results[0][1]


def files_below(path):
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file()) if os.path.exists(path) \
        else []


def host_files(lab, host):
    return load_state(str(lab.state_dir), host)["files"]


def stats(lab, host):
    """The host's counters, read in process (labctl would cost a Python start)."""
    return load_state(str(lab.state_dir), host)["counters"]


def by_path(result):
    return {d["remote_path"]: d for d in result["dumps"]}


def test_check_fetch_and_rerun(lab, tmp_path):
    # Too old for max_age, and another image: neither is fetched.
    lab.host("win", SEED | {"files": {
        ALICE_DUMPS + "\\netsh.exe.12.dmp": dump_file(b"MDMP old", "2020-01-01T00:00:00Z"),
        ALICE_DUMPS + "\\notepad.exe.13.dmp": dump_file(b"MDMP other")}})
    full = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4660"))["dump"]
    mini = json.loads(lab.labctl("crash", "win", "svc.exe", "--account", "LocalService", "--pid", "99"))["dump"]
    assert full["path"] == "C:\\WER\\netsh.exe.4660.dmp" and full["size"] > CHUNK
    assert mini["path"] == "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\GlobalDumps\\svc.exe.99.dmp"
    dest = tmp_path / "dumps"
    options = {"exe": ["netsh.exe", "svc.exe"], "dest": str(dest), "max_age": "30d"}
    host_before = host_files(lab, "win")
    before = stats(lab, "win")

    proc, res = fetch(lab, "--check", **options)
    assert res["changed"] is True
    assert {d["remote_path"]: d["status"] for d in res["dumps"]} == {full["path"]: "would_fetch",
                                                                     mini["path"]: "would_fetch"}
    warnings = " ".join((proc.stdout + proc.stderr).split())
    assert "(32-bit view) is D:\\Dumps\\%USERNAME%: no per-profile value for %USERNAME%; it was not searched" \
        in warnings
    after_check = stats(lab, "win")
    assert after_check["round_trips"] - before["round_trips"] == 1
    assert after_check["fetch_round_trips"] == before["fetch_round_trips"]
    assert not dest.exists() and host_files(lab, "win") == host_before

    res = fetch(lab, **options)[1]
    assert res["changed"] is True and not res.get("failed")
    dumps = by_path(res)
    assert dumps[full["path"]]["status"] == dumps[mini["path"]]["status"] == "fetched"
    assert dumps[full["path"]]["compressed"] is True and dumps[full["path"]]["wire_bytes"] < full["size"] // 10
    after_run = stats(lab, "win")
    assert after_run["round_trips"] - after_check["round_trips"] == 3  # read, compress, clean up
    assert res["transfer"]["batches"] == 3 and res["transfer"]["fetches"] == 2
    assert after_run["fetch_round_trips"] - after_check["fetch_round_trips"] == res["transfer"]["fetch_round_trips"]
    assert after_run["fetch_bytes"] - after_check["fetch_bytes"] == res["transfer"]["wire_bytes"]
    assert res["transfer"]["dump_bytes"] == full["size"] + mini["size"]

    host_dir = dest / "win"
    assert files_below(dest) == ["win/manifest.json", "win/netsh.exe.4660.dmp", "win/svc.exe.99.dmp"]
    for folder in (dest, host_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("manifest.json", "netsh.exe.4660.dmp", "svc.exe.99.dmp"):
        assert stat.S_IMODE((host_dir / name).stat().st_mode) == 0o600
    assert hashlib.sha256((host_dir / "netsh.exe.4660.dmp").read_bytes()).hexdigest() == full["sha256"]
    manifest = json.loads((host_dir / "manifest.json").read_text())
    entry = next(e for e in manifest["dumps"] if e["file"] == "netsh.exe.4660.dmp")
    assert entry["host"] == "win" and entry["image"] == "netsh.exe" and entry["pid"] == 4660
    assert entry["remote_path"] == full["path"] and entry["sha256"] == full["sha256"]
    assert entry["size"] == full["size"] and entry["remote_mtime"] and entry["fetched_at"]
    assert entry["event"]["exception_code"] == "0xc0000005" and entry["event"]["report_id"]
    svc = next(e for e in manifest["dumps"] if e["file"] == "svc.exe.99.dmp")
    assert svc["profile"] == "S-1-5-19" and svc["event"]["app"] == "svc.exe"
    # Nothing left in the host's temp folder, nothing deleted there.
    files_now = host_files(lab, "win")
    assert not [p for p in files_now if p.casefold().startswith(TEMP.casefold())]
    assert full["path"] in files_now and mini["path"] in files_now

    res = fetch(lab, **options)[1]
    assert res["changed"] is False
    assert {d["status"] for d in res["dumps"]} == {"held"}
    again = stats(lab, "win")
    assert again["fetch_bytes"] == after_run["fetch_bytes"]
    assert again["round_trips"] - after_run["round_trips"] == 1


def test_connection_drop_mid_transfer_then_rerun(lab, tmp_path):
    data = noise("drop", 3 * CHUNK // 2)  # incompressible: moves as it is, in 3 chunks
    remote = ALICE_DUMPS + "\\app.exe.77.dmp"
    lab.host("win", {"files": {remote: dump_file(data)}})
    lab.labctl("fault", "win", "fetch:1")
    dest = tmp_path / "dumps"
    proc, res = fetch(lab, check=False, exe=["app.exe"], dest=str(dest), remove_after_fetch=True)
    assert proc.returncode == 4 and res.get("unreachable") is True, proc.stdout
    assert "dropped during fetch" in res["msg"] and "temporary files removed from the host" in res["msg"]
    assert files_below(dest) == []
    files = host_files(lab, "win")
    assert files[remote]["sha256"] == hashlib.sha256(data).hexdigest()
    assert not [p for p in files if p.casefold().startswith(TEMP.casefold())]

    res = fetch(lab, exe=["app.exe"], dest=str(dest), remove_after_fetch=True)[1]
    assert by_path(res)[remote]["status"] == "fetched" and res["removed"] == [remote]
    assert (dest / "win" / "app.exe.77.dmp").read_bytes() == data
    assert remote not in host_files(lab, "win")
    manifest = json.loads((dest / "win" / "manifest.json").read_text())
    assert manifest["dumps"][0]["removed_from_host"] is True


def test_hash_mismatch_keeps_the_remote_copy_and_removes_only_verified_ones(lab, tmp_path):
    first, second = ALICE_DUMPS + "\\app.exe.1.dmp", ALICE_DUMPS + "\\app.exe.2.dmp"
    lab.host("win", {"files": {first: dump_file(noise("a", 4000), "2026-11-20T07:00:00Z"),
                               second: dump_file(noise("b", 4000), "2026-11-20T08:00:00Z")}})
    lab.labctl("fault", "win", "corrupt:0")  # newest first: app.exe.2.dmp arrives damaged
    dest = tmp_path / "dumps"
    proc, res = fetch(lab, check=False, exe=["app.exe"], dest=str(dest), remove_after_fetch=True)
    assert proc.returncode == 2
    assert "SHA-256 mismatch for %s" % second in res["msg"] and "the remote copy is kept" in res["msg"]
    dumps = by_path(res)
    assert dumps[second]["status"] == "failed" and dumps[first]["status"] == "fetched"
    assert res["removed"] == [first]
    files = host_files(lab, "win")
    assert second in files and first not in files
    assert files_below(dest) == ["win/app.exe.1.dmp", "win/manifest.json"]


def test_controller_disk_full_fetches_nothing_and_keeps_the_remote_copy(lab, tmp_path):
    remote = ALICE_DUMPS + "\\app.exe.5.dmp"
    lab.host("win", {"files": {remote: dump_file(noise("full", CHUNK * 2))}})
    dest = tmp_path / "dumps"
    # A reserve larger than the free space is what a full disk looks like to the check.
    reserve = shutil.disk_usage(tmp_path).free + 2**40
    before = stats(lab, "win")
    proc, res = fetch(lab, check=False, exe=["app.exe"], dest=str(dest), remove_after_fetch=True,
                      min_free_space=reserve)
    assert proc.returncode == 2
    assert "not enough free space on the controller" in res["msg"] and "nothing was fetched" in res["msg"]
    assert by_path(res)[remote]["status"] == "not_fetched" and res["removed"] == []
    assert files_below(dest) == []
    assert stats(lab, "win")["fetch_round_trips"] == before["fetch_round_trips"]
    files = host_files(lab, "win")
    assert remote in files and not [p for p in files if p.casefold().startswith(TEMP.casefold())]


def test_bytes_per_run_limit_fetches_whole_dumps_and_says_what_is_left(lab, tmp_path):
    old, new = ALICE_DUMPS + "\\app.exe.1.dmp", ALICE_DUMPS + "\\app.exe.2.dmp"
    lab.host("win", {"files": {old: dump_file(noise("o", 300_000), "2026-11-20T07:00:00Z"),
                               new: dump_file(noise("n", 300_000), "2026-11-20T08:00:00Z")}})
    dest = tmp_path / "dumps"
    proc, res = fetch(lab, check=False, exe=["app.exe"], dest=str(dest), compress="never", max_bytes_per_run=400_000)
    assert proc.returncode == 2 and "max_bytes_per_run (400000 bytes) reached" in res["msg"] and old in res["msg"]
    assert {d["remote_path"]: d["status"] for d in res["dumps"]} == {new: "fetched", old: "deferred"}
    assert files_below(dest) == ["win/app.exe.2.dmp", "win/manifest.json"]
    res = fetch(lab, exe=["app.exe"], dest=str(dest), compress="never", max_bytes_per_run=400_000)[1]
    assert {d["remote_path"]: d["status"] for d in res["dumps"]} == {new: "held", old: "fetched"}


def test_trust_manifest_counts_dumps_whose_file_moved_on(lab, tmp_path):
    remote = ALICE_DUMPS + "\\app.exe.9.dmp"
    lab.host("win", {"files": {remote: dump_file(noise("t", 5000))}})
    dest = tmp_path / "dumps"
    fetch(lab, exe=["app.exe"], dest=str(dest))
    (dest / "win" / "app.exe.9.dmp").unlink()  # copied elsewhere, e.g. to a bucket
    before = stats(lab, "win")
    res = fetch(lab, exe=["app.exe"], dest=str(dest), trust_manifest=True, remove_after_fetch=True)[1]
    assert res["changed"] is False and by_path(res)[remote]["status"] == "held"
    assert "local_path" not in by_path(res)[remote]
    # Nothing on the controller to verify: the host keeps its copy.
    assert res["removed"] == [] and remote in host_files(lab, "win")
    assert stats(lab, "win")["round_trips"] - before["round_trips"] == 1


def test_temp_files_left_by_a_lost_cleanup_are_removed_by_the_next_run(lab, tmp_path):
    lab.host("win", SEED)
    dump = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4660"))["dump"]
    # Read (1) and compress (2) run, the fetch drops, the cleanup batch (3) is lost too.
    lab.labctl("fault", "win", "fetch:0")
    lab.labctl("fault", "win", "exec:3")
    dest = tmp_path / "dumps"
    proc, res = fetch(lab, check=False, exe=["netsh.exe"], dest=str(dest))
    assert proc.returncode == 4 and "the next run removes them" in res["msg"]
    left = [p for p in host_files(lab, "win") if p.casefold().startswith(TEMP.casefold() + "\\")]
    assert left == [TEMP + "\\%s.dmp.gz" % dump["sha256"]]
    assert files_below(dest) == []

    res = fetch(lab, exe=["netsh.exe"], dest=str(dest))[1]
    assert by_path(res)[dump["path"]]["status"] == "fetched"
    assert not [p for p in host_files(lab, "win") if p.casefold().startswith(TEMP.casefold())]
