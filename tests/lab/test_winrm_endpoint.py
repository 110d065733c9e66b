"""lab/labctl serve: lab hosts as real WinRM endpoints, reached by
ansible-core's own ansible.builtin.winrm connection (pywinrm, NTLM, message
encryption over HTTP) and by pywinrm directly for the protocol's limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import winrm
from ansible.release import __version__ as ansible_version
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from tests.conftest import WINRM_PASSWORD, WINRM_USER, changed_count

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
USER, PASSWORD = WINRM_USER, WINRM_PASSWORD
LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


@pytest.fixture
def serve(lab):
    """serve(*hosts): labctl serve for the lab's hosts, stopped by pid when the test ends."""
    return lab.serve


def protocol(served, host, password=PASSWORD, **kwargs):
    """pywinrm as ansible.builtin.winrm configures it (NTLM, message encryption)."""
    kwargs.setdefault("transport", "ntlm")
    kwargs.setdefault("message_encryption", "always")
    return winrm.Protocol(served.url(host), username=USER, password=password, **kwargs)


def inventory(lab, password=PASSWORD):
    return lab.inventory(password, connection="winrm")


def winrm_connection(served, host, password=PASSWORD, https=False):
    """ansible-core's own winrm connection plugin, configured as a play would."""
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    conn = connection_loader.get("winrm", PlayContext(), None)
    options = {"ansible_host": "127.0.0.1", "ansible_port": served.ports[host], "ansible_user": USER,
               "ansible_password": password, "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
               "ansible_winrm_message_encryption": "always", "_extras": {}}
    if https:
        # pywinrm options the plugin has no option for travel as extras, as in a play.
        options.update(ansible_port=served.https_ports[host], ansible_winrm_scheme="https",
                       ansible_winrm_message_encryption="auto",
                       _extras={"ansible_winrm_ca_trust_path": served.certificate})
    conn.set_options(var_options=options)
    return conn


def test_enable_then_harvest_over_winrm(lab, serve, tmp_path):
    lab.host("win")
    served = serve("win")
    assert LOCAL_DUMPS + "\\netsh.exe" not in lab.registry("win")
    first = lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab))
    assert changed_count(first) == 1  # dump_capture: LocalDumps and page heap
    assert lab.registry("win")[LOCAL_DUMPS + "\\netsh.exe"]["values"]["DumpType"]["data"] == 2
    assert changed_count(lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab))) == 0

    # fetch_dumps moves the dump with ansible-core's own winrm fetch_file.
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    before = lab.stats("win")["fetch_round_trips"]
    dest = tmp_path / "dumps"
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest, inventory=inventory(lab))
    assert (dest / "win" / "netsh.exe.4660.dmp").read_bytes()[:4] == b"MDMP"
    assert lab.stats("win")["fetch_round_trips"] > before
    assert served.stop() == 0


def test_put_and_fetch_file_scripts_reach_the_file_model(lab, serve, tmp_path):
    lab.host("win")
    served = serve("win")
    conn = winrm_connection(served, "win")
    data = os.urandom(700_000)  # several put pieces, two fetch chunks, Receives split by MaxEnvelopeSize
    local = tmp_path / "blob.bin"
    local.write_bytes(data)
    conn.put_file(str(local), "C:\\Windows\\Temp\\blob.bin")
    back = tmp_path / "back.bin"
    conn.fetch_file("C:\\Windows\\Temp\\blob.bin", str(back))
    conn.close()
    assert back.read_bytes() == data
    assert "C:\\Windows\\Temp\\blob.bin" in lab.state("win")["files"]


def test_https_with_the_certificate_the_lab_makes(lab, serve, tmp_path):
    lab.host("win")
    served = serve("win")
    conn = winrm_connection(served, "win", https=True)
    local = tmp_path / "small.txt"
    local.write_bytes(b"over TLS\r\n")
    conn.put_file(str(local), "C:\\Windows\\Temp\\small.txt")
    assert conn.protocol.transport.encryption is None  # TLS protects it; no message encryption over HTTPS
    conn.close()
    assert "C:\\Windows\\Temp\\small.txt" in lab.state("win")["files"]
    untrusted = winrm.Protocol("https://127.0.0.1:%d/wsman" % served.https_ports["win"], transport="ntlm",
                               username=USER, password=PASSWORD, ca_trust_path=None)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.open_shell()


def test_fetch_of_a_missing_file_fails_like_windows(lab, serve, tmp_path):
    from ansible.errors import AnsibleError

    lab.host("win")
    conn = winrm_connection(serve("win"), "win")
    with pytest.raises(AnsibleError, match="failed to transfer file"):
        conn.fetch_file("C:\\Windows\\Temp\\missing.bin", str(tmp_path / "x"))
    conn.close()


def test_other_powershell_is_refused_never_run(lab, serve):
    lab.host("win")
    conn = winrm_connection(serve("win"), "win")
    rc, out, err = conn.exec_command("Remove-Item C:\\ -Recurse")
    conn.close()
    assert rc == 1 and out == b""
    assert b"the lab cannot run this PowerShell" in err and b"Remove-Item" in err


def test_wrong_password_is_unreachable_and_changes_nothing(lab, serve):
    lab.host("win")
    served = serve("win")
    before = lab.state("win")["registry"]
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab, password="wrong"), check=False)
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout and "credentials were rejected" in proc.stdout
    assert lab.state("win")["registry"] == before
    with pytest.raises(InvalidCredentialsError):
        protocol(served, "win", password="wrong").open_shell()


def test_basic_is_refused_unless_the_host_allows_it(lab, serve):
    lab.host("win")
    lab.host("basic", {"winrm": {"allow_basic": True, "allow_unencrypted": True}})
    served = serve("win", "basic")
    with pytest.raises(InvalidCredentialsError):
        protocol(served, "win", transport="basic", message_encryption="never").open_shell()
    proto = protocol(served, "basic", transport="basic", message_encryption="never")
    proto.close_shell(proto.open_shell())
    with pytest.raises(InvalidCredentialsError):
        protocol(served, "basic", password="wrong", transport="basic", message_encryption="never").open_shell()


def test_an_envelope_over_500_kb_gets_the_max_envelope_size_fault(lab, serve):
    lab.host("win")
    proto = protocol(serve("win"), "win")
    shell = proto.open_shell()
    command = proto.run_command(shell, "PowerShell", ["-NoProfile"], console_mode_stdin=False)
    proto.send_command_input(shell, command, b"x" * 200_000)  # what winrm sends: fits
    with pytest.raises(WSManFaultError) as fault:
        proto.send_command_input(shell, command, b"x" * 400_000)  # base64 of it: over 512,000 bytes
    assert fault.value.code == 500
    assert fault.value.fault_subcode == "w:EncodingLimit"
    assert fault.value.wsman_fault_code == 2150858790
    assert "MaxEnvelopeSize" in fault.value.reason
    proto.close_shell(shell)


def test_max_shells_per_user(lab, serve):
    lab.host("win", {"winrm": {"max_shells_per_user": 2}})
    proto = protocol(serve("win"), "win")
    shells = [proto.open_shell(), proto.open_shell()]
    with pytest.raises(WSManFaultError) as fault:
        proto.open_shell()
    assert fault.value.wsman_fault_code == 2150859173
    assert "maximum number of 2 concurrent shells" in fault.value.reason
    proto.close_shell(shells.pop(), close_session=False)
    shells.append(proto.open_shell())
    for shell in shells:
        proto.close_shell(shell, close_session=False)


def test_receive_waits_for_input_then_times_out(lab, serve):
    lab.host("win")
    proto = protocol(serve("win"), "win", operation_timeout_sec=1, read_timeout_sec=10)
    shell = proto.open_shell()
    command = proto.run_command(shell, "PowerShell", ["-NoProfile"], console_mode_stdin=False)
    proto.send_command_input(shell, command, b"not the end", end=False)
    with pytest.raises(WinRMOperationTimeoutError):
        proto.get_command_output_raw(shell, command)
    proto.send_command_input(shell, command, b"", end=True)
    out, err, rc, done = proto.get_command_output_raw(shell, command)
    assert done and rc == 1 and b"the lab cannot run this PowerShell" in err
    proto.cleanup_command(shell, command)
    proto.close_shell(shell)


def test_unknown_shell_is_the_windows_fault(lab, serve):
    lab.host("win")
    proto = protocol(serve("win"), "win")
    with pytest.raises(WSManFaultError) as fault:
        proto.run_command("00000000-0000-0000-0000-000000000000", "PowerShell")
    assert fault.value.wsman_fault_code == 2150858843
    assert "shell was not found on the server" in fault.value.reason


def test_serve_help_says_how_to_stop():
    out = subprocess.run([str(REPO / "lab" / "labctl"), "serve", "--help"], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
                                              + os.environ.get("PATH", ""))).stdout
    assert "SIGTERM" in out and "Ctrl-C" in out and "CrashLab-2026!" in out


def test_the_winrm_inventory_matches_the_addresses_serve_gives():
    import yaml

    from crashdump_lab.wsman.serve import inventory_hosts  # lab/ is on sys.path (tests/conftest.py)

    hosts = inventory_hosts()
    winrm_hosts = yaml.safe_load((REPO / "lab" / "inventory.yml").read_text())["windows"]["hosts"]
    assert list(winrm_hosts) == hosts
    assert [v["ansible_host"] for v in winrm_hosts.values()] == ["127.0.0.%d" % (i + 1) for i in range(len(hosts))]


def test_operations_quota_and_ansible_recreating_its_shell(lab, serve):
    # local_dumps reads, then applies: two commands where the quota allows one per shell.
    lab.host("win", {"winrm": {"max_concurrent_operations_per_user": 1}})
    served = serve("win")
    proto = protocol(served, "win")
    shell = proto.open_shell()
    first = proto.run_command(shell, "PowerShell", ["-NoProfile"])
    proto.cleanup_command(shell, first)  # terminate does not give a text shell's operation back
    with pytest.raises(WSManFaultError) as fault:
        proto.run_command(shell, "PowerShell", ["-NoProfile"])
    assert fault.value.wmierror_code == 0x803381A6 and fault.value.wsman_fault_code == 0x803381A6
    proto.close_shell(shell)
    book = lab.root / "local_dumps.yml"
    book.write_text("- hosts: windows\n  gather_facts: false\n  tasks:\n"
                    "    - crashdump.windows.local_dumps: {exe: netsh.exe, dump_folder: 'C:\\WER', dump_type: full}\n")
    if ansible_version.startswith("2.16."):
        # 2.16's plugin does not re-create its shell on this fault (2.17 added that): the apply batch cannot
        # start, the task is unreachable, names the fault, and nothing is written.
        run = lab.playbook(book, inventory=inventory(lab), check=False)
        assert run.returncode == 4 and "maximum number of 1 concurrent operations" in run.stdout
        assert LOCAL_DUMPS + "\\netsh.exe" not in lab.registry("win")
        return
    assert changed_count(lab.playbook(book, inventory=inventory(lab))) == 1
    assert LOCAL_DUMPS + "\\netsh.exe" in lab.registry("win")
