"""Parsing Application log crash events (1000, 1001, 1002, 1026) in the forms Windows really writes them."""

import re

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _events

REPORT = "5b2c8a1e-8f4b-4e11-8a5e-00155d012a09"

# The seed's example (Microsoft's crash troubleshooting guidance), as the
# rendered message shows it: one value per label, in property order.
SEED_MESSAGE = r"""
Faulting application name: netsh.exe, version: 10.0.22621.1, time stamp: 0x13af0815
Faulting module name: netsh.exe, version: 10.0.22621.1, time stamp: 0x13af0815
Exception code: 0xc0000005
Fault offset: 0x0000000000005399
Faulting process id: 0x0xFEE4
Faulting application start time: 0x0x1DAB66BB5BE07D4
Faulting application path: C:\WINDOWS\system32\netsh.exe
Faulting module path: C:\WINDOWS\system32\netsh.exe
Report Id: 5b2c8a1e-8f4b-4e11-8a5e-00155d012a09
Faulting package full name:
Faulting package-relative application ID:
"""


def seed_properties():
    values = []
    for line in SEED_MESSAGE.strip().splitlines():
        # "label: value" pieces, several on the first two lines.
        values += [(m.group(1) or "").strip() for m in re.finditer(r"(?:^|, )[^:,]+:(?: ([^,]*))?", line)]
    return values


def event(event_id, props, provider=None, time="2026-11-20T08:00:00.000Z", record_id=100, machine="WEB01"):
    provider = provider or {1000: "Application Error", 1001: "Windows Error Reporting", 1002: "Application Hang",
                            1026: ".NET Runtime"}[event_id]
    return {"log": "Application", "provider": provider, "id": event_id, "level": 2, "time": time,
            "record_id": record_id, "machine": machine, "properties": props}


def app_error(app="app.exe", version="1.2.0.0", module="app.exe", module_version="1.2.0.0", code="c0000005",
              offset="0000000000001234", pid="1ab0", start="01dd7cc776d06d50", path=None, module_path=None,
              report=REPORT, package=("", "")):
    props = [app, version, "5c1b9f3e", module, module_version, "0ff6a53c", code, offset, pid, start,
             path or "C:\\Program Files\\Contoso\\" + app, module_path or "C:\\Program Files\\Contoso\\" + module,
             report]
    return props + list(package) if package is not None else props


def wer(name="APPCRASH", p=None, bucket="", bucket_type="0", report=REPORT, attached="", values=23):
    p = (p or []) + [""] * (10 - len(p or []))
    props = [bucket, bucket_type, name, "Not available", "0"] + p + [
        attached, "\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportArchive\\AppCrash_x", "", "0", report,
        "268435456", "8f7d6a5b4c3d2e1f", "0"]
    return props[:values]


APPCRASH_P = ["app.exe", "1.2.0.0", "5c1b9f3e", "app.exe", "1.2.0.0", "0ff6a53c", "c0000005", "0000000000001234"]


def only(events, **kw):
    crashes = _events.parse_events(events, **kw)["crashes"]
    assert len(crashes) == 1, crashes
    return crashes[0]


def test_the_seeds_own_example():
    props = seed_properties()
    assert len(props) == 15 and props[8] == "0x0xFEE4"
    crash = _events.parse_application_error(event(1000, props))
    assert crash["image"] == "netsh.exe"
    assert crash["pid"] == 0xFEE4 == 65252
    assert crash["dump_file"] == "netsh.exe.65252.dmp"
    assert crash["process_start"] == "2024-06-04T10:41:08.773Z"
    assert crash["exception_code"] == "0xc0000005"
    assert crash["exception_name"] == "STATUS_ACCESS_VIOLATION"
    assert crash["offset"] == "0x5399"
    assert crash["app_timestamp"] == crash["module_timestamp"] == "0x13af0815"
    assert crash["signature"] == "netsh.exe@10.0.22621.1!netsh.exe@10.0.22621.1!0xc0000005+0x5399"
    assert crash["family"] == "netsh.exe!netsh.exe!0xc0000005+0x5399"
    assert crash["victim"] is False and crash["stack_hash"] is False
    assert crash["package_full_name"] is None and crash["package_relative_app_id"] is None
    assert crash["report_id"] == REPORT


@pytest.mark.parametrize("pid, start", [
    ("1ab0", "01dd7cc776d06d50"),        # classic, unnamed data: bare lower-case hex, start padded to 16
    ("0x1ab0", "0x1dd7cc776d06d50"),     # named data (Win11 exports): 0x, unpadded
    ("0x0x1AB0", "0x0x1DD7CC776D06D50"),  # rendered message text, upper case on Win11
    (" 1AB0 ", "1DD7CC776D06D50"),
])
def test_every_pid_and_start_time_form(pid, start):
    crash = _events.parse_application_error(event(1000, app_error(pid=pid, start=start)))
    assert crash["pid"] == 6832
    assert crash["process_start"] == "2026-11-25T10:26:42.469Z"
    assert crash["dump_file"] == "app.exe.6832.dmp"


def test_hex_fields_have_one_form():
    crash = _events.parse_application_error(event(1000, app_error(code="0xC0000374", offset="0x00000000000E6F1A")))
    assert crash["exception_code"] == "0xc0000374"
    assert crash["exception_name"] == "STATUS_HEAP_CORRUPTION"
    assert crash["offset"] == "0xe6f1a"
    assert crash["app_timestamp"] == "0x5c1b9f3e"


def test_windows_7_event_with_13_values():
    props = ["explorer.exe", "6.1.7601.17567", "4d672ee4", "ntdll.dll", "6.1.7601.17725", "4ec49b8f", "c0000374",
             "00000000000c40f2", "a8c", "01cd0ef5f3a4e8e2", "C:\\Windows\\explorer.exe",
             "C:\\Windows\\SYSTEM32\\ntdll.dll", REPORT]
    crash = only([event(1000, props)])
    assert crash["pid"] == 0xA8C
    assert crash["report_id"] == REPORT
    assert crash["package_full_name"] is None
    assert crash["victim"] is True
    assert crash["signature"] == "explorer.exe@6.1.7601.17567!ntdll.dll@6.1.7601.17725!0xc0000374+0xc40f2"


def test_integer_properties_are_read_as_numbers():
    props = app_error()
    props[6], props[8] = 0xC0000005, 6832
    crash = _events.parse_application_error(event(1000, props))
    assert crash["exception_code"] == "0xc0000005"
    assert crash["pid"] == 6832


def test_1001_repeated_for_one_report_joins_once_with_the_later_bucket():
    events = [
        event(1001, wer(p=APPCRASH_P, bucket="1746543224467358421", bucket_type="4",
                        attached="\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER1.tmp.mdmp\r\n"
                                 "\\\\?\\C:\\Dumps\\app.exe.6832.dmp"), record_id=103),
        event(1001, wer(p=APPCRASH_P, attached="\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER1.tmp.mdmp"),
              record_id=102),
        event(1000, app_error(), record_id=101),
    ]
    result = _events.parse_events(events)
    assert result["stats"]["duplicate_reports"] == 1
    crash = only(events)
    assert crash["sources"] == [1000, 1001]
    assert crash["wer"]["records"] == 2
    assert crash["wer"]["bucket"] == "1746543224467358421"
    assert crash["wer"]["bucket_type"] == 4
    assert crash["wer"]["event_name"] == "APPCRASH"
    assert crash["wer"]["attached_files"] == ["C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER1.tmp.mdmp",
                                              "C:\\Dumps\\app.exe.6832.dmp"]
    assert crash["wer"]["store_path"].startswith("C:\\ProgramData\\")
    assert crash["local_dump"] == "C:\\Dumps\\app.exe.6832.dmp"


@pytest.mark.parametrize("count", [21, 22, 23])
def test_1001_of_every_length_joins(count):
    crash = only([event(1001, wer(p=APPCRASH_P, bucket="b", values=count), record_id=2),
                  event(1000, app_error(), record_id=1)])
    assert crash["wer"]["bucket"] == "b"
    assert crash["wer"]["hashed_bucket"] == ("8f7d6a5b4c3d2e1f" if count > 21 else None)


def test_a_crash_known_only_from_its_report():
    crash = only([event(1001, wer(p=APPCRASH_P, bucket="x"))])
    assert crash["sources"] == [1001]
    assert (crash["image"], crash["app_version"], crash["module"]) == ("app.exe", "1.2.0.0", "app.exe")
    assert (crash["exception_code"], crash["offset"]) == ("0xc0000005", "0x1234")
    assert crash["pid"] is None and crash["dump_file"] is None
    assert crash["signature"] == _events.parse_application_error(event(1000, app_error()))["signature"]


def test_non_crash_reports_and_other_providers_are_left_out():
    events = [
        event(1001, wer(name="WindowsUpdateFailure3", p=["10.0.19041.3636", "80070643"])),
        event(1001, wer(name="StoreAgentScanForUpdatesFailure0", p=["", "80070005"])),
        event(1000, ["x", "y"], provider="MsiInstaller"),
        event(1026, ["Product: Contoso -- Installation completed."], provider="MsiInstaller"),
    ]
    result = _events.parse_events(events)
    assert result["crashes"] == []
    assert result["stats"]["other_reports"] == 2
    assert result["stats"]["other_providers"] == 2


def test_bex64_with_the_code_in_p8_and_the_fail_fast_subcode_in_p9():
    p = ["app.exe", "1.2.0.0", "5c1b9f3e", "ucrtbase.dll", "10.0.19041.789", "2bd748bf", "000000000007286e",
         "c0000409", "0000000000000007"]
    joined = only([event(1001, wer(name="BEX64", p=p), record_id=2),
                   event(1000, app_error(module="ucrtbase.dll", module_version="10.0.19041.789", code="c0000409",
                                         offset="000000000007286e"),
                         record_id=1)])
    alone = only([event(1001, wer(name="BEX64", p=p))])
    for crash in (joined, alone):
        assert crash["exception_code"] == "0xc0000409"
        assert crash["exception_name"] == "STATUS_STACK_BUFFER_OVERRUN"
        assert crash["offset"] == "0x7286e"
        assert crash["module"] == "ucrtbase.dll"
        assert crash["subcode"] == 7
        assert crash["fail_fast"] == "FAST_FAIL_FATAL_APP_EXIT"
    assert joined["signature"] == alone["signature"]


def test_bex_dep_violation_keeps_the_access_type_and_a_text_offset():
    p = ["explorer.exe", "10.0.19041.1503", "5c1b9f3e", "StackHash_1b5e", "0.0.0.0", "00000000",
         "PCH_F1_FROM_ntdll+0x000000000009D0E4", "c0000005", "0000000000000008"]
    crash = only([event(1001, wer(name="BEX64", p=p))])
    assert crash["subcode"] == 8 and crash["fail_fast"] is None
    assert crash["offset"] == "PCH_F1_FROM_ntdll+0x000000000009D0E4"
    assert crash["stack_hash"] is True
    assert crash["signature"].endswith("!0xc0000005+pch_f1_from_ntdll+0x000000000009d0e4")


def test_moappcrash_shifts_by_one():
    package = "Microsoft.WindowsStore_11910.1002.5.0_x64__8wekyb3d8bbwe"
    p = [package, "praid:App", "11910.1002.5.0", "5d4e0f5f", "Windows.UI.Xaml.dll", "10.0.18362.418",
         "0ff6a53c", "c000027b", "00000000007102b4"]
    alone = only([event(1001, wer(name="MoAppCrash", p=p))])
    assert alone["app_name"] == "Microsoft.WindowsStore"
    assert alone["image"] is None and alone["dump_file"] is None
    assert alone["app_version"] == "11910.1002.5.0"
    assert alone["module"] == "Windows.UI.Xaml.dll" and alone["module_version"] == "10.0.18362.418"
    assert alone["exception_name"] == "STATUS_STOWED_EXCEPTION"
    assert alone["offset"] == "0x7102b4"
    assert alone["package_full_name"] == package and alone["package_relative_app_id"] == "App"

    props = app_error(app="WinStore.App.exe", version="11910.1002.5.0", module="Windows.UI.Xaml.dll",
                      module_version="10.0.18362.418", code="c000027b", offset="00000000007102b4",
                      package=(package, "App"))
    joined = only([event(1001, wer(name="MoAppCrash", p=p), record_id=2), event(1000, props, record_id=1)])
    assert joined["image"] == "WinStore.App.exe" and joined["wer"]["event_name"] == "MoAppCrash"
    assert joined["package_full_name"] == package


def test_stack_hash_and_victim_marks():
    stack = _events.parse_application_error(event(1000, app_error(module="StackHash_e8cb", module_version="0.0.0.0",
                                                                  module_path="StackHash_e8cb")))
    assert stack["stack_hash"] is True and stack["victim"] is False
    for module in ("ntdll.dll", "KERNELBASE.dll", "kernel32.dll"):
        crash = _events.parse_application_error(event(1000, app_error(module=module)))
        assert crash["victim"] is True and crash["stack_hash"] is False


def test_unloaded_module():
    crash = _events.parse_application_error(event(1000, app_error(module="contoso_hook.dll_unloaded",
                                                                  module_path="contoso_hook.dll")))
    assert crash["module"] == "contoso_hook.dll_unloaded"
    assert crash["module_unloaded"] is True
    assert crash["family"] == "app.exe!contoso_hook.dll!0xc0000005+0x1234"


def test_invisible_marks_in_paths_and_names():
    props = app_error(app="\u200eapp.exe", path="\u200eC:\\Program Files\\Contoso\\app.exe",
                      module_path="\u200eC:\\Windows\\System32\\ntdll.dll", module="ntdll.dll")
    crash = _events.parse_application_error(event(1000, props))
    assert crash["app_name"] == "app.exe"
    assert crash["app_path"] == "C:\\Program Files\\Contoso\\app.exe"
    assert crash["module_path"] == "C:\\Windows\\System32\\ntdll.dll"
    assert crash["dump_file"] == "app.exe.6832.dmp"
    plain = _events.parse_application_error(event(1000, app_error(module="ntdll.dll")))
    assert crash["signature"] == plain["signature"]


def test_service_host_suffix():
    crash = _events.parse_application_error(event(1000, app_error(
        app="svchost.exe_AppXSvc", path="C:\\Windows\\System32\\svchost.exe")))
    assert (crash["image"], crash["service"]) == ("svchost.exe", "AppXSvc")
    assert crash["dump_file"] == "svchost.exe.6832.dmp"
    assert crash["signature"].startswith("svchost.exe_appxsvc@")
    assert _events.parse_events([event(1000, app_error(app="svchost.exe_AppXSvc",
                                                       path="C:\\Windows\\System32\\svchost.exe"))],
                                images=["SVCHOST.EXE"])["crashes"]


def test_application_hang_1002_with_its_report():
    props = ["notepad.exe", "10.0.19041.1", "2f48", "01d6e6b0b4f1a2c3", "4294967295",
             "C:\\Windows\\System32\\notepad.exe", REPORT, "", "", "Top level window is idle"]
    hang_report = wer(name="AppHangB1", p=["notepad.exe", "10.0.19041.1", "5c1b9f3e", "8a33"], bucket="x")
    hang = only([event(1001, hang_report, record_id=2), event(1002, props, record_id=1)])
    assert hang["kind"] == "hang"
    assert hang["pid"] == 0x2F48 and hang["dump_file"] is None
    assert hang["termination_time"] == 4294967295
    assert hang["hang_type"] == "Top level window is idle"
    assert hang["signature"] == "notepad.exe@10.0.19041.1!(hang)"
    assert hang["wer"]["event_name"] == "AppHangB1"
    seven = only([event(1002, props[:7])])
    assert seven["report_id"] == REPORT and seven["hang_type"] is None


DOTNET_TEXT = ("Application: Contoso.Service.exe\r\nFramework Version: v4.0.30319\r\nDescription: The process was "
               "terminated due to an unhandled exception.\r\nException Info: System.NullReferenceException\r\n"
               "   at Contoso.Service.Worker.Run()\r\n   at System.Threading.ThreadHelper.ThreadStart()\r\n")


def test_dotnet_1026_joins_its_e0434352_crash():
    events = [
        event(1000, app_error(app="Contoso.Service.exe", module="KERNELBASE.dll", code="e0434352",
                              offset="000000000002d759"), time="2026-11-20T08:00:01.000Z", record_id=2),
        event(1026, [DOTNET_TEXT], time="2026-11-20T08:00:00.500Z", record_id=1),
    ]
    crash = only(events)
    assert crash["exception_name"] == "CLR exception (unhandled .NET exception)"
    assert crash["dotnet"]["exception_type"] == "System.NullReferenceException"
    assert crash["dotnet"]["runtime_version"] == "v4.0.30319"
    assert crash["dotnet"]["application"] == "Contoso.Service.exe"
    assert "Worker.Run" in crash["dotnet"]["text"]
    assert crash["sources"] == [1000, 1026]


def test_localised_and_core_clr_1026():
    german = ("Anwendung: Contoso.Service.exe\nFrameworkversion: v4.0.30319\nBeschreibung: Der Prozess wurde aufgrund "
              "einer unbehandelten Ausnahme beendet.\nAusnahmeinformationen: System.IO.FileNotFoundException\n")
    parsed = _events.parse_dotnet(event(1026, [german]))
    assert (parsed["application"], parsed["runtime_version"], parsed["exception_type"]) == (
        "Contoso.Service.exe", "v4.0.30319", "System.IO.FileNotFoundException")
    core = ("Application: api.exe\nCoreCLR Version: 6.0.2122.6009\n.NET Version: 6.0.21\nDescription: The process "
            "was terminated due to an unhandled exception.\nException Info: System.InvalidOperationException: bad")
    parsed = _events.parse_dotnet(event(1026, [core]))
    assert parsed["runtime_version"] == "6.0.2122.6009"
    assert parsed["exception_type"] == "System.InvalidOperationException"


def test_dotnet_1026_of_another_app_or_time_is_not_joined():
    crash_event = event(1000, app_error(code="e0434352"), time="2026-11-20T08:00:00.000Z", record_id=3)
    other_app = event(1026, [DOTNET_TEXT], time="2026-11-20T08:00:00.000Z", record_id=2)
    too_early = event(1026, [DOTNET_TEXT.replace("Contoso.Service.exe", "app.exe")],
                      time="2026-11-20T07:50:00.000Z", record_id=1)
    result = _events.parse_events([crash_event, other_app, too_early])
    assert result["crashes"][0]["dotnet"] is None
    assert result["stats"]["unmatched_dotnet"] == 2


def test_newest_first_and_image_filter():
    events = [event(1000, app_error(app="b.exe", report="r2"), time="2026-11-20T09:00:00.000Z", record_id=2),
              event(1000, app_error(app="a.exe", report="r1"), time="2026-11-20T08:00:00.000Z", record_id=1)]
    assert [c["image"] for c in _events.parse_events(events)["crashes"]] == ["b.exe", "a.exe"]
    assert [c["image"] for c in _events.parse_events(events, images=["A.EXE"])["crashes"]] == ["a.exe"]


@pytest.mark.parametrize("text, expected", [("", None), ("zz", None), ("0x0x10", 16), ("10", 16)])
def test_number(text, expected):
    assert _events.number(text) == expected
