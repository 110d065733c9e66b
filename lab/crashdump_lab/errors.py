"""Failures of single agent operations, shaped like the exceptions the real
agent (plugins/plugin_utils/agent.ps1) reports: .NET type name, message and
HResult as the signed 32-bit value .NET gives."""

from __future__ import annotations


def _hresult(code):
    return code - (1 << 32) if code & 0x80000000 else code


class WinError(Exception):
    def __init__(self, message, type_name, hresult):
        super().__init__(message)
        self.message = message
        self.type_name = type_name
        self.hresult = _hresult(hresult)


def key_not_found():
    # What RegOpenKeyEx reports for a missing key (ERROR_FILE_NOT_FOUND).
    return WinError("The system cannot find the file specified.", "System.IO.FileNotFoundException", 0x80070002)


def part_not_found(path):
    return WinError("Could not find a part of the path '%s'." % path, "System.IO.DirectoryNotFoundException",
                    0x80070003)


def file_not_found(path):
    return WinError("Could not find file '%s'." % path, "System.IO.FileNotFoundException", 0x80070002)


def access_denied(path):
    return WinError("Access to the path '%s' is denied." % path, "System.UnauthorizedAccessException", 0x80070005)


def sharing_violation(path):
    # ERROR_SHARING_VIOLATION (32): another handle is open without the share mode asked for
    # ("Creating and Opening Files", CreateFile docs); .NET raises IOException with HRESULT 0x80070020.
    return WinError("The process cannot access the file '%s' because it is being used by another process." % path,
                    "System.IO.IOException", 0x80070020)


def exists_as_file(path):
    return WinError("Cannot create '%s' because a file or directory with the same name already exists." % path,
                    "System.IO.IOException", 0x800700B7)


def io_error(message):
    return WinError(message, "System.IO.IOException", 0x80131620)


def invalid_argument(message):
    return WinError(message, "System.ArgumentException", 0x80070057)


def service_not_found(name):
    # What Get-Service reports for a name no service has (a SystemException: COR_E_SYSTEM).
    return WinError("Cannot find any service with service name '%s'." % name,
                    "Microsoft.PowerShell.Commands.ServiceCommandException", 0x80131501)


def unknown_op(name):
    return not_supported("Unknown operation '%s'." % name)


def not_supported(message):
    return WinError(message, "System.NotSupportedException", 0x80131515)


def log_not_found(log):
    return WinError('There is not an event log on the localhost computer that matches "%s".' % log,
                    "System.Exception", 0x80131500)


# Win32 errors of the Service Control Manager (learn.microsoft.com, System Error Codes 1000-1299).
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_SERVICE_NOT_ACTIVE = 1062


def service_control(message, win32_error):
    # ServiceController.Start/Stop throw InvalidOperationException (COR_E_INVALIDOPERATION) around the
    # Win32Exception of StartService/ControlService; the agent reports the outer exception.
    error = WinError(message, "System.InvalidOperationException", 0x80131509)
    error.win32_error = win32_error
    return error


def service_disabled(name):
    # The agent's own refusal, made before anything is stopped (a Disabled service cannot start again).
    return WinError("service '%s' is disabled (start mode Disabled) and could not start again: nothing was stopped"
                    % name, "System.InvalidOperationException", 0x80131509)


def invalid_owner():
    # SetSecurityInfo's ERROR_INVALID_OWNER (1307) as .NET's NativeObjectSecurity.Persist throws it.
    return WinError("The security identifier is not allowed to be the owner of this object.",
                    "System.InvalidOperationException", 0x80131509)
