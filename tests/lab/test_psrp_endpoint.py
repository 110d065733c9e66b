"""lab/labctl serve: lab hosts as real PowerShell remoting (PSRP) endpoints,
reached by ansible-core's own ansible.builtin.psrp connection (pypsrp, NTLM,
message encryption over HTTP)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import WINRM_PASSWORD, WINRM_USER, changed_count

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


def inventory(lab, password=WINRM_PASSWORD):
    return lab.inventory(password, connection="psrp")


def psrp_connection(served, host, password=WINRM_PASSWORD, https=False):
    """ansible-core's own psrp connection plugin, configured as a play would."""
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    conn = connection_loader.get("psrp", PlayContext(), None)
    options = {"ansible_host": "127.0.0.1", "ansible_port": served.ports[host], "ansible_user": WINRM_USER,
               "ansible_password": password, "ansible_psrp_auth": "ntlm", "ansible_psrp_protocol": "http",
               "_extras": {}}  # as a play gives them (ansible-core 2.16 requires the option)
    if https:
        # psrp's default auth (negotiate), bound to the lab's certificate (channel binding).
        options.update(ansible_port=served.https_ports[host], ansible_psrp_protocol="https",
                       ansible_psrp_auth="negotiate", ansible_psrp_ca_cert=served.certificate)
    conn.set_options(var_options=options)
    return conn


def test_enable_then_harvest_over_psrp(lab, tmp_path):
    lab.host("win")
    served = lab.serve("win")
    first = lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab))
    assert changed_count(first) == 1  # dump_capture: LocalDumps and page heap
    assert lab.registry("win")[LOCAL_DUMPS + "\\netsh.exe"]["values"]["DumpType"]["data"] == 2
    assert changed_count(lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab))) == 0

    # fetch_dumps moves the dump with ansible-core's own psrp fetch_file.
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    before = lab.stats("win")["fetch_round_trips"]
    dest = tmp_path / "dumps"
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest, inventory=inventory(lab))
    assert (dest / "win" / "netsh.exe.4660.dmp").read_bytes()[:4] == b"MDMP"
    assert lab.stats("win")["fetch_round_trips"] > before
    assert served.stop() == 0


def test_put_and_fetch_file_scripts_reach_the_file_model(lab, tmp_path):
    from ansible.errors import AnsibleError

    lab.host("win")
    conn = psrp_connection(lab.serve("win"), "win")
    data = os.urandom(700_000)  # many input objects in, many output objects and Receives out
    local = tmp_path / "blob.bin"
    local.write_bytes(data)
    conn.put_file(str(local), "C:\\Windows\\Temp\\blob.bin")
    back = tmp_path / "back.bin"
    conn.fetch_file("C:\\Windows\\Temp\\blob.bin", str(back))
    assert back.read_bytes() == data
    (tmp_path / "empty.bin").write_bytes(b"")
    conn.put_file(str(tmp_path / "empty.bin"), "C:\\Windows\\Temp\\empty.bin")
    # 2.16 names the failure when it opens the file stream; later cores when the transfer fails.
    with pytest.raises(AnsibleError, match="failed to (transfer file|setup file stream for fetch)"):
        conn.fetch_file("C:\\Windows\\Temp\\missing.bin", str(tmp_path / "x"))
    conn.close()
    files = lab.state("win")["files"]
    assert "C:\\Windows\\Temp\\blob.bin" in files and "C:\\Windows\\Temp\\empty.bin" in files


def test_https_with_negotiate_and_the_certificate_the_lab_makes(lab, tmp_path):
    lab.host("win")
    conn = psrp_connection(lab.serve("win"), "win", https=True)
    (tmp_path / "small.txt").write_bytes(b"over TLS\r\n")
    conn.put_file(str(tmp_path / "small.txt"), "C:\\Windows\\Temp\\small.txt")
    conn.fetch_file("C:\\Windows\\Temp\\small.txt", str(tmp_path / "back.txt"))
    conn.close()
    assert (tmp_path / "back.txt").read_bytes() == b"over TLS\r\n"


def test_other_powershell_is_refused_never_run(lab):
    lab.host("win")
    before = lab.state("win")
    conn = psrp_connection(lab.serve("win"), "win")
    rc, out, err = conn.exec_command("Remove-Item C:\\ -Recurse")
    conn.close()
    assert rc == 1 and out == b""
    assert b"the lab cannot run this PowerShell" in err and b"Remove-Item" in err
    after = lab.state("win")
    assert (after["registry"], after["files"]) == (before["registry"], before["files"])


def test_the_agent_reply_is_one_output_string_and_its_exit_code_the_hosts(lab):
    # What ansible.builtin.psrp does with the bootstrap: its script decoded, each input line one object.
    from pypsrp.host import PSHost, PSHostUserInterface
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent

    lab.host("win")
    served = lab.serve("win")
    script = base64.b64decode(_agent.build_command().split(" ")[-1]).decode("utf-16-le")
    payload = _agent.build_payload([{"op": "reg_read", "key": "HKLM\\SOFTWARE", "view": 64}])
    host = PSHost(None, None, False, "lab test host", None, PSHostUserInterface(), None)
    wsman = WSMan("127.0.0.1", port=served.ports["win"], username=WINRM_USER, password=WINRM_PASSWORD, ssl=False,
                  auth="ntlm")
    with RunspacePool(wsman, host=host) as pool:
        ps = PowerShell(pool)
        ps.add_script(script)
        output = ps.invoke(input=payload.decode("ascii").splitlines())
    assert len(output) == 1 and isinstance(output[0], str)
    assert json.loads(output[0])["results"][0]["ok"] is True
    assert host.rc == 0 and not ps.had_errors and not ps.streams.error


def test_a_refused_agent_input_is_an_error_record_and_exit_code(lab):
    # The bootstrap itself, with input that is not the agent: the lab's transport refuses it.
    from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent

    lab.host("win")
    conn = psrp_connection(lab.serve("win"), "win")
    rc, out, err = conn.exec_command(_agent.build_command(), in_data=b"not the agent\n")
    conn.close()
    assert rc == 1 and b"crashdump_lab: refused" in err


def test_wrong_password_is_unreachable_and_changes_nothing(lab):
    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import RunspacePool
    from pypsrp.wsman import WSMan

    lab.host("win")
    served = lab.serve("win")
    before = lab.state("win")["registry"]
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory(lab, password="wrong"), check=False)
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout and "failed to authenticate" in proc.stdout
    assert lab.state("win")["registry"] == before
    for auth in ("negotiate", "ntlm"):  # psrp's default, NTLM in SPNEGO, and raw NTLM
        wsman = WSMan("127.0.0.1", port=served.ports["win"], username=WINRM_USER, password="wrong", ssl=False,
                      auth=auth)
        with pytest.raises(AuthenticationError):
            RunspacePool(wsman).open()


def test_the_shipped_served_inventory_works_with_psrp(lab):
    # lab/inventory.yml as shipped, with -e ansible_connection=psrp: only
    # the address moves, to a loopback range of its own (the default ports stay).
    shipped = yaml.safe_load((REPO / "lab" / "inventory.yml").read_text())["windows"]
    host = next(iter(shipped["hosts"]))
    lab.host(host)
    lab.serve(host, options=("--bind", "127.0.14.1"))
    moved = lab.root / "address.yml"
    moved.write_text(yaml.safe_dump({"windows": {"hosts": {host: {"ansible_host": "127.0.14.1"}}}}))
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", "-e", "ansible_connection=psrp", "--limit", host,
                        "-i", str(moved), inventory=REPO / "lab" / "inventory.yml")
    assert changed_count(proc) == 1
    assert LOCAL_DUMPS + "\\netsh.exe" in lab.registry(host)


def test_serve_help_names_psrp():
    import subprocess
    import sys

    out = subprocess.run([str(REPO / "lab" / "labctl"), "serve", "--help"], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
                                              + os.environ.get("PATH", ""))).stdout
    assert "ansible.builtin.psrp" in out and "ansible_connection=psrp" in out
