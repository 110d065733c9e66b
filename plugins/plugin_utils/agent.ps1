# crashdump.windows agent: runs one batch of primitive operations and writes
# exactly one line of ASCII JSON to stdout. The protocol is described in
# docs/docsite/rst/agent_protocol.rst. The agent holds no policy: it reads and
# changes only what the controller asks for.
#
# Compatibility: Windows PowerShell 5.1 (also written to run on 3.0/4.0),
# .NET Framework 4.5+. Keep this file ASCII-only and free of PowerShell 7
# syntax; tests/unit/plugins/plugin_utils/test_powershell_syntax.py parses it.
param([string]$BatchJson)

# Cmdlet errors must reach the per-operation catch blocks, and progress or
# warning records must never be written to stdout, where only the result goes.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$DebugPreference = 'SilentlyContinue'
# Level 1 only rejects reads of unset variables: a typo fails the operation
# instead of silently producing null data.
Set-StrictMode -Version 1

$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
$SddlSections = [System.Security.AccessControl.AccessControlSections]'Owner, Group, Access'

# ---------------------------------------------------------------------------
# Input helpers. ConvertFrom-Json (5.1) gives PSCustomObjects and object[];
# absent and null fields both read as the default.
# ---------------------------------------------------------------------------

function Get-Field {
    param($Object, [string]$Name, $Default = $null)
    if ($null -eq $Object) { return , $Default }
    $prop = $Object.PSObject.Properties[$Name]
    if ($null -eq $prop -or $null -eq $prop.Value) { return , $Default }
    # The leading comma keeps arrays intact through the function output.
    return , ($prop.Value)
}

function Get-ListField {
    param($Object, [string]$Name)
    $value = Get-Field $Object $Name
    $list = New-Object System.Collections.Generic.List[object]
    if ($null -ne $value) {
        foreach ($item in $value) { $list.Add($item) }
    }
    return , $list
}

function New-AgentException {
    param([string]$TypeName, [string]$Message)
    return (New-Object -TypeName $TypeName -ArgumentList $Message)
}

function Get-RequiredString {
    param($Object, [string]$Name)
    $value = Get-Field $Object $Name
    if (-not ($value -is [string])) {
        throw (New-AgentException 'System.ArgumentException' ("field '" + $Name + "' must be a string"))
    }
    return $value
}

# C:\dir or \\server\share\dir: .NET resolves dir, C:dir and \dir against the
# current directory ("File path formats on Windows systems").
function Get-RequiredPath {
    param($Object, [string]$Name)
    $value = Get-RequiredString $Object $Name
    $text = $value.Replace('/', '\')
    if ($text.StartsWith('\\?\UNC\', [System.StringComparison]::OrdinalIgnoreCase)) { $text = '\\' + $text.Substring(8) }
    elseif ($text.StartsWith('\\?\')) { $text = $text.Substring(4) }
    if (-not ($text -match '^(?:[A-Za-z]:\\|\\\\[^\\.?][^\\]*\\[^\\]+)')) {
        throw (New-AgentException 'System.ArgumentException' ("field '" + $Name + "' must be a fully qualified path, not '" + $value + "'"))
    }
    return $value
}

function Get-OptionalBool {
    param($Object, [string]$Name, [bool]$Default)
    $value = Get-Field $Object $Name
    if ($null -eq $value) { return $Default }
    if (-not ($value -is [bool])) {
        throw (New-AgentException 'System.ArgumentException' ("field '" + $Name + "' must be a boolean"))
    }
    return $value
}

function Test-IsNumber {
    param($Value)
    return ($Value -is [int] -or $Value -is [long] -or $Value -is [decimal] -or $Value -is [double] -or
        $Value -is [single] -or $Value -is [byte] -or $Value -is [sbyte] -or $Value -is [int16] -or
        $Value -is [uint16] -or $Value -is [uint32] -or $Value -is [uint64])
}

# JSON numbers arrive as Int32, Int64, Decimal or Double: check that the value
# is a whole number in range and hand it back as a Decimal.
function ConvertTo-CheckedInteger {
    param($Value, [string]$Field, [decimal]$Minimum, [decimal]$Maximum)
    $message = "field '" + $Field + "' must be an integer from " + $Minimum.ToString($Invariant) +
        ' to ' + $Maximum.ToString($Invariant)
    if (-not (Test-IsNumber $Value)) {
        throw (New-AgentException 'System.ArgumentException' $message)
    }
    $number = [decimal]0
    try { $number = [decimal]$Value }
    catch { throw (New-AgentException 'System.ArgumentException' $message) }
    if ($number -ne [decimal]::Truncate($number) -or $number -lt $Minimum -or $number -gt $Maximum) {
        throw (New-AgentException 'System.ArgumentException' $message)
    }
    return $number
}

# ---------------------------------------------------------------------------
# Output helpers. The JSON is written by hand rather than by ConvertTo-Json:
# in 5.1 ConvertTo-Json turns some wrapped arrays into {"value":...,"Count":n},
# serialises strings with extra note properties as objects and leaves
# non-ASCII characters as they are. Here every list is a JSON array and every
# character outside 0x20..0x7E is escaped, so the line is pure ASCII.
# ---------------------------------------------------------------------------

function Write-JsonString {
    param([System.Text.StringBuilder]$Sb, [string]$Text)
    [void]$Sb.Append('"')
    # Case-sensitive match and \z: -match would ignore case (letting e.g.
    # U+212A through as 'k') and $ would accept a trailing newline.
    if ($Text -cmatch '^[ !#-\[\]-~]*\z') {
        [void]$Sb.Append($Text)
    }
    else {
        foreach ($ch in $Text.ToCharArray()) {
            $code = [int]$ch
            if ($code -eq 34) { [void]$Sb.Append('\"') }
            elseif ($code -eq 92) { [void]$Sb.Append('\\') }
            elseif ($code -lt 32 -or $code -gt 126) { [void]$Sb.Append('\u').Append($code.ToString('x4', $Invariant)) }
            else { [void]$Sb.Append($ch) }
        }
    }
    [void]$Sb.Append('"')
}

function Write-JsonValue {
    param([System.Text.StringBuilder]$Sb, $Value)
    if ($null -eq $Value -or $Value -is [System.DBNull]) {
        [void]$Sb.Append('null')
        return
    }
    if ($Value -is [string]) { Write-JsonString $Sb $Value; return }
    if ($Value -is [char]) { Write-JsonString $Sb ([string]$Value); return }
    if ($Value -is [bool]) {
        if ($Value) { [void]$Sb.Append('true') } else { [void]$Sb.Append('false') }
        return
    }
    if ($Value -is [System.Enum]) { Write-JsonString $Sb ($Value.ToString()); return }
    if ($Value -is [double] -or $Value -is [single]) {
        $real = [double]$Value
        if ([double]::IsNaN($real) -or [double]::IsInfinity($real)) { [void]$Sb.Append('null') }
        else { [void]$Sb.Append($real.ToString('R', $Invariant)) }
        return
    }
    if (Test-IsNumber $Value) {
        [void]$Sb.Append([System.Convert]::ToString($Value, $Invariant))
        return
    }
    if ($Value -is [datetime]) { Write-JsonString $Sb (Format-IsoTime $Value); return }
    if ($Value -is [System.Collections.IDictionary]) {
        [void]$Sb.Append('{')
        $first = $true
        # GetEnumerator(): member access such as .Keys could be shadowed by a
        # key of the same name.
        foreach ($entry in $Value.GetEnumerator()) {
            if (-not $first) { [void]$Sb.Append(',') }
            $first = $false
            Write-JsonString $Sb ([string]$entry.Key)
            [void]$Sb.Append(':')
            Write-JsonValue $Sb $entry.Value
        }
        [void]$Sb.Append('}')
        return
    }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        [void]$Sb.Append('{')
        $first = $true
        foreach ($prop in $Value.PSObject.Properties) {
            if (-not $first) { [void]$Sb.Append(',') }
            $first = $false
            Write-JsonString $Sb $prop.Name
            [void]$Sb.Append(':')
            Write-JsonValue $Sb $prop.Value
        }
        [void]$Sb.Append('}')
        return
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        [void]$Sb.Append('[')
        $first = $true
        foreach ($item in $Value) {
            if (-not $first) { [void]$Sb.Append(',') }
            $first = $false
            Write-JsonValue $Sb $item
        }
        [void]$Sb.Append(']')
        return
    }
    Write-JsonString $Sb ([string]$Value)
}

function ConvertTo-JsonLine {
    param($Value)
    $sb = New-Object System.Text.StringBuilder
    Write-JsonValue $sb $Value
    return $sb.ToString()
}

# ISO 8601 UTC with milliseconds: 2026-11-25T10:01:13.000Z. Get-WmiObject
# gives DMTF strings where Get-CimInstance gives DateTime.
function Format-IsoTime {
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string]) {
        if ($Value -eq '') { return $null }
        $Value = [System.Management.ManagementDateTimeConverter]::ToDateTime($Value)
    }
    $time = [datetime]$Value
    return $time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", $Invariant)
}

function ConvertTo-Hex {
    param([byte[]]$Bytes)
    if ($null -eq $Bytes) { return $null }
    return [System.BitConverter]::ToString($Bytes).Replace('-', '').ToLowerInvariant()
}

function ConvertFrom-Hex {
    param($Text, [string]$Field)
    if (-not ($Text -is [string]) -or -not ($Text -cmatch '^(?:[0-9a-fA-F]{2})*\z')) {
        throw (New-AgentException 'System.ArgumentException' ("field '" + $Field + "' must be a hex string of whole bytes"))
    }
    $count = [int]($Text.Length / 2)
    $bytes = New-Object -TypeName 'byte[]' -ArgumentList $count
    for ($i = 0; $i -lt $count; $i++) {
        $bytes[$i] = [System.Convert]::ToByte($Text.Substring(2 * $i, 2), 16)
    }
    return , $bytes
}

# Event properties and similar loosely typed values: strings, integers and
# booleans stay as they are, byte arrays become hex, times ISO strings, GUIDs
# and SIDs their string form.
function ConvertTo-PlainValue {
    param($Value)
    if ($null -eq $Value -or $Value -is [System.DBNull]) { return $null }
    if ($Value -is [byte[]]) { return (ConvertTo-Hex $Value) }
    if ($Value -is [string] -or $Value -is [bool] -or (Test-IsNumber $Value)) { return $Value }
    if ($Value -is [datetime]) { return (Format-IsoTime $Value) }
    if ($Value -is [System.DateTimeOffset]) { return (Format-IsoTime $Value.UtcDateTime) }
    if ($Value -is [System.Security.Principal.SecurityIdentifier]) { return $Value.Value }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = New-Object System.Collections.Generic.List[object]
        foreach ($item in $Value) { $items.Add((ConvertTo-PlainValue $item)) }
        return , $items
    }
    return $Value.ToString()
}

# ---------------------------------------------------------------------------
# Registry. Always through RegistryKey.OpenBaseKey so the 32/64-bit view is
# explicit (the HKLM: drive cannot choose a view).
# ---------------------------------------------------------------------------

function Resolve-RegistryKey {
    param($Op)
    $keyText = Get-RequiredString $Op 'key'
    # A trailing backslash is tolerated; an empty component is a caller error.
    $parts = $keyText.TrimEnd([char]'\').Split([char]'\')
    foreach ($part in $parts) {
        if ($part -eq '') {
            throw (New-AgentException 'System.ArgumentException' ("registry key '" + $keyText + "' is empty or has an empty component"))
        }
    }
    $hive = $null
    switch -CaseSensitive ($parts[0].ToUpperInvariant()) {
        'HKLM' { $hive = [Microsoft.Win32.RegistryHive]::LocalMachine }
        'HKEY_LOCAL_MACHINE' { $hive = [Microsoft.Win32.RegistryHive]::LocalMachine }
        'HKU' { $hive = [Microsoft.Win32.RegistryHive]::Users }
        'HKEY_USERS' { $hive = [Microsoft.Win32.RegistryHive]::Users }
        'HKCU' { $hive = [Microsoft.Win32.RegistryHive]::CurrentUser }
        'HKEY_CURRENT_USER' { $hive = [Microsoft.Win32.RegistryHive]::CurrentUser }
        'HKCR' { $hive = [Microsoft.Win32.RegistryHive]::ClassesRoot }
        'HKEY_CLASSES_ROOT' { $hive = [Microsoft.Win32.RegistryHive]::ClassesRoot }
        default {
            throw (New-AgentException 'System.ArgumentException' ("registry key '" + $keyText + "' does not start with HKLM, HKU, HKCU or HKCR"))
        }
    }
    # 64 is the native view (and the only one on 32-bit Windows).
    $viewValue = Get-Field $Op 'view' 64
    $view = $null
    if ((Test-IsNumber $viewValue) -and $viewValue -eq 64) { $view = [Microsoft.Win32.RegistryView]::Registry64 }
    elseif ((Test-IsNumber $viewValue) -and $viewValue -eq 32) { $view = [Microsoft.Win32.RegistryView]::Registry32 }
    else { throw (New-AgentException 'System.ArgumentException' "field 'view' must be 64 or 32") }
    $subParts = New-Object System.Collections.Generic.List[string]
    for ($i = 1; $i -lt $parts.Length; $i++) { $subParts.Add($parts[$i]) }
    return @{
        # Spelled as the caller did, for the keys reg_create_key reports.
        HiveName = $parts[0]
        Hive     = $hive
        View     = $view
        Parts    = $subParts
        SubPath  = ($subParts -join '\')
    }
}

function Open-RegistryBase {
    param($Target)
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey($Target['Hive'], $Target['View'])
}

# Returns the key or $null when it does not exist; the hive root is the base.
function Open-RegistrySubKey {
    param($Base, [string]$SubPath, [bool]$Writable)
    if ($SubPath -eq '') { return $Base }
    return $Base.OpenSubKey($SubPath, $Writable)
}

function Close-RegistryKeys {
    param($Key, $Base)
    if ($null -ne $Key -and -not [object]::ReferenceEquals($Key, $Base)) { $Key.Dispose() }
    if ($null -ne $Base) { $Base.Dispose() }
}

# REG_DWORD / REG_QWORD come back from .NET as signed Int32 / Int64; the
# protocol carries them unsigned, so reinterpret the bits.
function ConvertTo-UnsignedInteger {
    param($Raw)
    if ($Raw -is [int]) { return [System.BitConverter]::ToUInt32([System.BitConverter]::GetBytes([int]$Raw), 0) }
    if ($Raw -is [long]) { return [System.BitConverter]::ToUInt64([System.BitConverter]::GetBytes([long]$Raw), 0) }
    return $Raw
}

# Registry data of odd size. RegistryKey.GetValue converts what
# RegQueryValueEx returns without checking its size (.NET Framework reference
# source, RegistryKey.InternalGetValue): a REG_DWORD of 5 to 8 bytes comes
# back as an Int64 and a longer one as byte[], a shorter one padded with
# zeros; a REG_SZ loses an odd last byte and keeps all but one trailing NUL;
# a REG_MULTI_SZ is parsed whatever its terminators. RegistryKey.SetValue
# takes byte[] only for Binary and None. So the agent reads each value's bytes
# with RegQueryValueEx and, when they are not what SetValue would write for
# the converted data, reports those bytes (hex) with the declared type and
# raw = true; reg_set with raw writes such bytes back with RegSetValueEx.
# Both are mscorlib's own P/Invoke declarations (Microsoft.Win32.Win32Native,
# internal to every .NET Framework 4.x), reached by reflection: Add-Type
# would start the C# compiler in every batch.
# The type numbers of winnt.h; those .NET has no RegistryValueKind for are always raw.
$RegTypeNames = @{ 0 = 'REG_NONE'; 1 = 'REG_SZ'; 2 = 'REG_EXPAND_SZ'; 3 = 'REG_BINARY'; 4 = 'REG_DWORD'
    5 = 'REG_DWORD_BIG_ENDIAN'; 6 = 'REG_LINK'; 7 = 'REG_MULTI_SZ'; 8 = 'REG_RESOURCE_LIST'
    9 = 'REG_FULL_RESOURCE_DESCRIPTOR'; 10 = 'REG_RESOURCE_REQUIREMENTS_LIST'; 11 = 'REG_QWORD' }

function Get-RegistryNativeMethod {
    param([string]$Name, [type[]]$Types)
    $native = [Microsoft.Win32.RegistryKey].Assembly.GetType('Microsoft.Win32.Win32Native')
    if ($null -eq $native) { return $null }
    $flags = [System.Reflection.BindingFlags]'NonPublic, Public, Static'
    return $native.GetMethod($Name, $flags, $null, $Types, $null)
}

# The value's bytes and type number, or $null where the call is unavailable.
function Read-RegistryBytes {
    param($Key, [string]$Name)
    $intRef = [int].MakeByRefType()
    $method = Get-RegistryNativeMethod 'RegQueryValueEx' @([Microsoft.Win32.SafeHandles.SafeRegistryHandle], [string], [int[]], $intRef, [byte[]], $intRef)
    if ($null -eq $method) { return $null }
    $call = [object[]]@($Key.Handle, $Name, $null, [int]0, $null, [int]0)
    $code = [int]$method.Invoke($null, $call)
    if ($code -ne 0) { throw (New-Object System.ComponentModel.Win32Exception -ArgumentList $code) }
    $bytes = New-Object -TypeName 'byte[]' -ArgumentList ([int]$call[5])
    $call = [object[]]@($Key.Handle, $Name, $null, [int]0, $bytes, [int]$bytes.Length)
    $code = [int]$method.Invoke($null, $call)
    if ($code -ne 0) { throw (New-Object System.ComponentModel.Win32Exception -ArgumentList $code) }
    return @{ Type = [int]$call[3]; Bytes = $bytes }
}

function Write-RegistryBytes {
    param($Key, [string]$Name, [int]$Type, [byte[]]$Bytes)
    $method = Get-RegistryNativeMethod 'RegSetValueEx' @([Microsoft.Win32.SafeHandles.SafeRegistryHandle], [string], [int], [Microsoft.Win32.RegistryValueKind], [byte[]], [int])
    if ($null -eq $method) { throw (New-AgentException 'System.NotSupportedException' 'raw registry data cannot be written: RegSetValueEx is not reachable') }
    $kind = [System.Enum]::ToObject([Microsoft.Win32.RegistryValueKind], $Type)
    $code = [int]$method.Invoke($null, [object[]]@($Key.Handle, $Name, [int]0, $kind, $Bytes, [int]$Bytes.Length))
    if ($code -ne 0) { throw (New-Object System.ComponentModel.Win32Exception -ArgumentList $code) }
}

# The bytes RegistryKey.SetValue writes for the protocol data of an entry.
function ConvertTo-CanonicalBytes {
    param($Entry)
    $unicode = [System.Text.Encoding]::Unicode
    $nul = [string][char]0
    switch -CaseSensitive ($Entry['type']) {
        'REG_SZ' { return , $unicode.GetBytes($Entry['data'] + $nul) }
        'REG_EXPAND_SZ' { return , $unicode.GetBytes($Entry['data'] + $nul) }
        'REG_MULTI_SZ' {
            $text = ''
            foreach ($s in $Entry['data']) { $text = $text + $s + $nul }
            return , $unicode.GetBytes($text + $nul)
        }
        'REG_DWORD' { return , [System.BitConverter]::GetBytes([uint32]$Entry['data']) }
        'REG_QWORD' { return , [System.BitConverter]::GetBytes([uint64]$Entry['data']) }
    }
    return $null
}

function Read-RegistryValue {
    param($Key, [string]$Name)
    $entry = Read-TypedRegistryValue $Key $Name
    if (@('REG_SZ', 'REG_EXPAND_SZ', 'REG_MULTI_SZ', 'REG_DWORD', 'REG_QWORD', 'REG_UNKNOWN') -cnotcontains $entry['type']) { return $entry }
    $found = Read-RegistryBytes $Key $Name
    if ($null -eq $found) { return $entry }
    if ($entry['type'] -ceq 'REG_UNKNOWN') {
        if (-not $RegTypeNames.ContainsKey($found['Type'])) { return $entry }
        return [ordered]@{ name = $Name; type = $RegTypeNames[$found['Type']]; data = (ConvertTo-Hex $found['Bytes']); raw = $true }
    }
    # Only a 4-byte REG_DWORD, an 8-byte REG_QWORD and strings without NUL
    # can be what SetValue wrote; then the bytes must be exactly those.
    $fits = $true
    if ($entry['type'] -ceq 'REG_DWORD') { $fits = $found['Bytes'].Length -eq 4 }
    elseif ($entry['type'] -ceq 'REG_QWORD') { $fits = $found['Bytes'].Length -eq 8 }
    else {
        foreach ($s in @($entry['data'])) { if ($s.Contains([string][char]0)) { $fits = $false } }
    }
    if ($fits -and (ConvertTo-Hex (ConvertTo-CanonicalBytes $entry)) -ceq (ConvertTo-Hex $found['Bytes'])) { return $entry }
    return [ordered]@{ name = $Name; type = $entry['type']; data = (ConvertTo-Hex $found['Bytes']); raw = $true }
}

function Read-TypedRegistryValue {
    param($Key, [string]$Name)
    $kind = $Key.GetValueKind($Name)
    # REG_EXPAND_SZ is reported as stored, never expanded.
    $raw = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    $entry = [ordered]@{ name = $Name; type = $null; data = $null }
    switch -CaseSensitive ([string]$kind) {
        'String' {
            $entry['type'] = 'REG_SZ'
            $entry['data'] = [string]$raw
        }
        'ExpandString' {
            $entry['type'] = 'REG_EXPAND_SZ'
            $entry['data'] = [string]$raw
        }
        'MultiString' {
            $strings = New-Object System.Collections.Generic.List[object]
            if ($null -ne $raw) { foreach ($s in $raw) { $strings.Add([string]$s) } }
            $entry['type'] = 'REG_MULTI_SZ'
            $entry['data'] = $strings
        }
        'DWord' {
            $entry['type'] = 'REG_DWORD'
            $entry['data'] = ConvertTo-UnsignedInteger $raw
        }
        'QWord' {
            $entry['type'] = 'REG_QWORD'
            $entry['data'] = ConvertTo-UnsignedInteger $raw
        }
        'Binary' {
            $entry['type'] = 'REG_BINARY'
            $entry['data'] = ''
            if ($raw -is [byte[]]) { $entry['data'] = ConvertTo-Hex $raw }
        }
        'None' {
            $entry['type'] = 'REG_NONE'
            $entry['data'] = ''
            if ($raw -is [byte[]]) { $entry['data'] = ConvertTo-Hex $raw }
        }
        default {
            # Types .NET does not model (REG_LINK, REG_RESOURCE_LIST,
            # REG_DWORD_BIG_ENDIAN, ...): reported so the value is not hidden.
            $entry['type'] = 'REG_UNKNOWN'
            if ($raw -is [byte[]]) { $entry['data'] = ConvertTo-Hex $raw }
        }
    }
    return $entry
}

# Protocol data -> .NET value and RegistryValueKind for RegistryKey.SetValue.
function ConvertTo-RegistryData {
    param([string]$Type, $Data)
    $kinds = [Microsoft.Win32.RegistryValueKind]
    switch -CaseSensitive ($Type) {
        'REG_SZ' {
            if (-not ($Data -is [string])) { throw (New-AgentException 'System.ArgumentException' 'REG_SZ data must be a string') }
            return @{ Kind = $kinds::String; Value = $Data }
        }
        'REG_EXPAND_SZ' {
            if (-not ($Data -is [string])) { throw (New-AgentException 'System.ArgumentException' 'REG_EXPAND_SZ data must be a string') }
            return @{ Kind = $kinds::ExpandString; Value = $Data }
        }
        'REG_MULTI_SZ' {
            if ($null -eq $Data -or $Data -is [string] -or -not ($Data -is [System.Collections.IList])) {
                throw (New-AgentException 'System.ArgumentException' 'REG_MULTI_SZ data must be a list of strings')
            }
            $strings = New-Object System.Collections.Generic.List[string]
            foreach ($s in $Data) {
                if (-not ($s -is [string])) { throw (New-AgentException 'System.ArgumentException' 'REG_MULTI_SZ data must be a list of strings') }
                $strings.Add($s)
            }
            # SetValue casts MultiString data to string[] exactly.
            return @{ Kind = $kinds::MultiString; Value = $strings.ToArray() }
        }
        'REG_DWORD' {
            $number = ConvertTo-CheckedInteger $Data 'data' 0 ([decimal][uint32]::MaxValue)
            # SetValue wants an Int32: store the same 32 bits.
            $bits = [System.BitConverter]::ToInt32([System.BitConverter]::GetBytes([uint32]$number), 0)
            return @{ Kind = $kinds::DWord; Value = $bits }
        }
        'REG_QWORD' {
            $number = ConvertTo-CheckedInteger $Data 'data' 0 ([decimal][uint64]::MaxValue)
            $bits = [System.BitConverter]::ToInt64([System.BitConverter]::GetBytes([uint64]$number), 0)
            return @{ Kind = $kinds::QWord; Value = $bits }
        }
        'REG_BINARY' {
            return @{ Kind = $kinds::Binary; Value = (ConvertFrom-Hex $Data 'data') }
        }
        'REG_NONE' {
            return @{ Kind = $kinds::None; Value = (ConvertFrom-Hex $Data 'data') }
        }
        default {
            throw (New-AgentException 'System.ArgumentException' ("unsupported registry type '" + $Type + "'"))
        }
    }
}

# .NET's RegistryKey has no last write time; RegQueryInfoKey gives it (the last time the key or any of its
# values changed). Compiled only for a batch that asks for it.
$RegInfoSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
namespace CrashdumpWindows {
    public static class RegInfo {
        [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
        private static extern int RegQueryInfoKey(SafeRegistryHandle hKey, IntPtr lpClass, IntPtr lpcchClass,
            IntPtr lpReserved, IntPtr lpcSubKeys, IntPtr lpcbMaxSubKeyLen, IntPtr lpcbMaxClassLen, IntPtr lpcValues,
            IntPtr lpcbMaxValueNameLen, IntPtr lpcbMaxValueLen, IntPtr lpcbSecurityDescriptor,
            out long lpftLastWriteTime);
        public static DateTime LastWriteTimeUtc(SafeRegistryHandle key) {
            long filetime;
            int rc = RegQueryInfoKey(key, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero,
                IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out filetime);
            if (rc != 0) { throw new Win32Exception(rc); }
            return DateTime.FromFileTimeUtc(filetime);
        }
    }
}
'@

function Get-RegistryKeyWriteTime {
    param($Key)
    if (-not ('CrashdumpWindows.RegInfo' -as [type])) { Add-Type -TypeDefinition $RegInfoSource }
    return Format-IsoTime ([CrashdumpWindows.RegInfo]::LastWriteTimeUtc($Key.Handle))
}

function Invoke-RegRead {
    param($Op, $Data)
    $target = Resolve-RegistryKey $Op
    $withWriteTime = Get-OptionalBool $Op 'last_write' $false
    $values = New-Object System.Collections.Generic.List[object]
    $subkeys = New-Object System.Collections.Generic.List[object]
    $Data['exists'] = $false
    $Data['values'] = $values
    $Data['subkeys'] = $subkeys
    if ($withWriteTime) { $Data['last_write'] = $null }
    $base = Open-RegistryBase $target
    $key = $null
    try {
        $key = Open-RegistrySubKey $base $target['SubPath'] $false
        if ($null -eq $key) { return }
        $Data['exists'] = $true
        foreach ($name in $key.GetValueNames()) { $values.Add((Read-RegistryValue $key $name)) }
        foreach ($name in $key.GetSubKeyNames()) { $subkeys.Add($name) }
        if ($withWriteTime) { $Data['last_write'] = Get-RegistryKeyWriteTime $key }
    }
    finally {
        Close-RegistryKeys $key $base
    }
}

function Invoke-RegSet {
    param($Op, $Data)
    $target = Resolve-RegistryKey $Op
    $name = Get-RequiredString $Op 'name'
    $type = Get-RequiredString $Op 'type'
    $rawBytes = $null
    $typeNumber = 0
    if (Get-OptionalBool $Op 'raw' $false) {
        foreach ($number in $RegTypeNames.Keys) { if ($RegTypeNames[$number] -ceq $type) { $typeNumber = $number } }
        if (-not $RegTypeNames.ContainsValue($type)) {
            throw (New-AgentException 'System.ArgumentException' ("unsupported registry type '" + $type + "'"))
        }
        $rawBytes = ConvertFrom-Hex (Get-Field $Op 'data') 'data'
    }
    else { $converted = ConvertTo-RegistryData $type (Get-Field $Op 'data') }
    $base = Open-RegistryBase $target
    $key = $null
    try {
        $key = Open-RegistrySubKey $base $target['SubPath'] $true
        if ($null -eq $key) {
            # Same exception and text as RegOpenKeyEx's ERROR_FILE_NOT_FOUND.
            throw (New-AgentException 'System.IO.FileNotFoundException' 'The system cannot find the file specified.')
        }
        if ($null -ne $rawBytes) { Write-RegistryBytes $key $name $typeNumber $rawBytes }
        else { $key.SetValue($name, $converted['Value'], $converted['Kind']) }
    }
    finally {
        Close-RegistryKeys $key $base
    }
}

function Invoke-RegDeleteValue {
    param($Op, $Data)
    $target = Resolve-RegistryKey $Op
    $name = Get-RequiredString $Op 'name'
    $Data['deleted'] = $false
    $base = Open-RegistryBase $target
    $key = $null
    try {
        # Look first with a read-only handle: an absent value needs no write access.
        $key = Open-RegistrySubKey $base $target['SubPath'] $false
        if ($null -eq $key) { return }
        # -contains compares case-insensitively, like registry value names.
        if (-not (@($key.GetValueNames()) -contains $name)) { return }
        if (-not [object]::ReferenceEquals($key, $base)) { $key.Dispose() }
        $key = $null
        $key = Open-RegistrySubKey $base $target['SubPath'] $true
        if ($null -eq $key) { return }
        $key.DeleteValue($name, $false)
        $Data['deleted'] = $true
    }
    finally {
        Close-RegistryKeys $key $base
    }
}

function Invoke-RegCreateKey {
    param($Op, $Data)
    $target = Resolve-RegistryKey $Op
    $created = New-Object System.Collections.Generic.List[object]
    $Data['created'] = $created
    $parts = $target['Parts']
    $base = Open-RegistryBase $target
    try {
        $prefix = ''
        for ($i = 0; $i -lt $parts.Count; $i++) {
            if ($i -eq 0) { $prefix = $parts[0] } else { $prefix = $prefix + '\' + $parts[$i] }
            $probe = $base.OpenSubKey($prefix, $false)
            if ($null -eq $probe) { $created.Add($target['HiveName'] + '\' + $prefix) }
            else { $probe.Dispose() }
        }
        if ($created.Count -gt 0) {
            $newKey = $base.CreateSubKey($target['SubPath'])
            if ($null -ne $newKey) { $newKey.Dispose() }
        }
    }
    finally {
        Close-RegistryKeys $null $base
    }
}

function Invoke-RegDeleteKey {
    param($Op, $Data)
    $target = Resolve-RegistryKey $Op
    if ($target['Parts'].Count -eq 0) {
        throw (New-AgentException 'System.ArgumentException' 'cannot delete a registry hive')
    }
    $Data['deleted'] = $false
    $Data['reason'] = $null
    $base = Open-RegistryBase $target
    $key = $null
    try {
        $key = $base.OpenSubKey($target['SubPath'], $false)
        if ($null -eq $key) {
            $Data['reason'] = 'absent'
            return
        }
        if ($key.ValueCount -gt 0 -or $key.SubKeyCount -gt 0) {
            $Data['reason'] = 'not_empty'
            return
        }
        $key.Dispose()
        $key = $null
        # DeleteSubKey refuses a key with subkeys, so a race cannot delete a tree.
        $base.DeleteSubKey($target['SubPath'], $false)
        $Data['deleted'] = $true
    }
    finally {
        Close-RegistryKeys $key $base
    }
}

# ---------------------------------------------------------------------------
# Files and directories.
# ---------------------------------------------------------------------------

function Get-PathSddl {
    param([string]$Path)
    return (Get-Acl -LiteralPath $Path).GetSecurityDescriptorSddlForm($SddlSections)
}

# Form of an SDDL string used to decide whether dir_ensure must write it.
# Windows sets the DACL auto-inherit flags (AI, AR) itself when it stores an
# ACL, and adds inherited (ID) ACEs when the DACL is not protected; neither is
# part of what the caller asked for.
function Get-ComparableSddl {
    param([string]$Sddl, [bool]$DropInherited)
    $text = $Sddl -creplace 'D:(P?)(?:AR)?(?:AI)?', 'D:$1'
    if ($DropInherited) {
        $text = $text -creplace '\([^;()]*;[A-Z]*ID[A-Z]*;[^()]*\)', ''
    }
    return $text
}

function Invoke-PathStat {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $Data['exists'] = $false
    $Data['type'] = $null
    $Data['size'] = $null
    $Data['mtime'] = $null
    $Data['sddl'] = $null
    if ([System.IO.Directory]::Exists($path)) {
        $info = New-Object System.IO.DirectoryInfo -ArgumentList $path
        $Data['type'] = 'directory'
    }
    elseif ([System.IO.File]::Exists($path)) {
        $info = New-Object System.IO.FileInfo -ArgumentList $path
        $Data['type'] = 'file'
        $Data['size'] = $info.Length
    }
    else {
        return
    }
    $Data['exists'] = $true
    $Data['mtime'] = Format-IsoTime $info.LastWriteTimeUtc
    $Data['sddl'] = Get-PathSddl $info.FullName
}

# An elevated administrator's token holds SeRestorePrivilege and
# SeTakeOwnershipPrivilege disabled; .NET's SetAccessControl enables none, so
# an owner other than the caller or Administrators fails with
# ERROR_INVALID_OWNER (1307). SeRestorePrivilege "enables you to set any valid
# user or group SID as the owner of a file" (Microsoft Learn, "Privilege
# Constants"); ansible.windows' win_owner enables both the same way.
$TokenPrivilegeSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace CrashdumpWindows
{
    public static class TokenPrivilege
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct OnePrivilege
        {
            public uint Count;
            public uint LuidLow;
            public uint LuidHigh;
            public uint Attributes;
        }

        [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool LookupPrivilegeValue(string systemName, string name, out ulong luid);

        [DllImport("advapi32.dll", SetLastError = true)]
        private static extern bool OpenProcessToken(IntPtr process, uint access, out IntPtr token);

        [DllImport("advapi32.dll", SetLastError = true)]
        private static extern bool AdjustTokenPrivileges(IntPtr token, bool disableAll, ref OnePrivilege newState,
            uint length, ref OnePrivilege previousState, out uint returnLength);

        [DllImport("kernel32.dll")]
        private static extern IntPtr GetCurrentProcess();

        [DllImport("kernel32.dll")]
        private static extern bool CloseHandle(IntPtr handle);

        // Enables or disables one privilege of this process's token. Returns
        // whether it was enabled before, or null when the token does not hold
        // it (ERROR_NOT_ALL_ASSIGNED).
        public static bool? Set(string name, bool enable)
        {
            ulong luid;
            if (!LookupPrivilegeValue(null, name, out luid)) throw new Win32Exception();
            IntPtr token;
            // TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY
            if (!OpenProcessToken(GetCurrentProcess(), 0x28, out token)) throw new Win32Exception();
            try
            {
                OnePrivilege state = new OnePrivilege();
                state.Count = 1;
                state.LuidLow = (uint)luid;
                state.LuidHigh = (uint)(luid >> 32);
                state.Attributes = enable ? 2u : 0u;
                OnePrivilege previous = new OnePrivilege();
                uint returned;
                if (!AdjustTokenPrivileges(token, false, ref state, (uint)Marshal.SizeOf(state), ref previous,
                        out returned)) throw new Win32Exception();
                if (Marshal.GetLastWin32Error() == 1300) return null;
                // The previous state lists the privilege only when this call changed it.
                return previous.Count == 0 ? enable : !enable;
            }
            finally
            {
                CloseHandle(token);
            }
        }
    }
}
'@

# Enables the privileges an owner needs; $Held gets those the token holds,
# $Restore those to disable again afterwards.
function Enable-OwnerPrivileges {
    param($Held, $Restore)
    if (-not ('CrashdumpWindows.TokenPrivilege' -as [type])) { Add-Type -TypeDefinition $TokenPrivilegeSource }
    foreach ($name in @('SeRestorePrivilege', 'SeTakeOwnershipPrivilege')) {
        $before = [CrashdumpWindows.TokenPrivilege]::Set($name, $true)
        if ($null -eq $before) { continue }
        $Held.Add($name)
        if (-not $before) { $Restore.Add($name) }
    }
}

function Invoke-DirEnsure {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $sddl = Get-Field $Op 'sddl'
    if ($null -ne $sddl -and -not ($sddl -is [string])) {
        throw (New-AgentException 'System.ArgumentException' "field 'sddl' must be a string or null")
    }
    $created = New-Object System.Collections.Generic.List[object]
    $held = New-Object System.Collections.Generic.List[string]
    $Data['created'] = $created
    $Data['sddl_changed'] = $false
    $Data['privileges'] = $held
    # Without this, "C:\dumps\" would be reported as created with its slash.
    $trimmed = $path.TrimEnd([char[]]@([char]'\', [char]'/'))
    if ($trimmed.Length -eq 0 -or $trimmed.EndsWith(':')) { $trimmed = $path }
    $dir = New-Object System.IO.DirectoryInfo -ArgumentList $trimmed
    $missing = New-Object System.Collections.Generic.List[string]
    $cursor = $dir
    while ($null -ne $cursor -and -not $cursor.Exists) {
        $missing.Insert(0, $cursor.FullName)
        $cursor = $cursor.Parent
    }
    # The SDDL is checked before anything is made: a bad one creates nothing.
    $sectionNames = New-Object System.Collections.Generic.List[string]
    if ($null -ne $sddl) {
        $raw = New-Object System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $sddl
        # Only the parts the SDDL names are compared and written.
        if ($null -ne $raw.Owner) { $sectionNames.Add('Owner') }
        if ($null -ne $raw.Group) { $sectionNames.Add('Group') }
        $daclPresent = [int][System.Security.AccessControl.ControlFlags]::DiscretionaryAclPresent
        if (([int]$raw.ControlFlags -band $daclPresent) -ne 0) { $sectionNames.Add('Access') }
        if ($sectionNames.Count -eq 0) {
            throw (New-AgentException 'System.ArgumentException' 'sddl names no owner, group or DACL')
        }
    }
    $restore = New-Object System.Collections.Generic.List[string]
    if ($sectionNames.Contains('Owner')) { Enable-OwnerPrivileges $held $restore }
    try {
        # One level at a time, outermost first, so the report matches what was made.
        foreach ($item in $missing) {
            $null = [System.IO.Directory]::CreateDirectory($item)
            $created.Add($item)
        }
        if ($null -eq $sddl) { return }

        $sections = [System.Security.AccessControl.AccessControlSections]($sectionNames -join ', ')
        $desired = New-Object System.Security.AccessControl.DirectorySecurity
        $desired.SetSecurityDescriptorSddlForm($sddl, $sections)
        $protectedFlag = [int][System.Security.AccessControl.ControlFlags]::DiscretionaryAclProtected
        $dropInherited = ([int]$raw.ControlFlags -band $protectedFlag) -eq 0
        $want = Get-ComparableSddl ($desired.GetSecurityDescriptorSddlForm($sections)) $false
        $current = (Get-Acl -LiteralPath $dir.FullName).GetSecurityDescriptorSddlForm($sections)
        $have = Get-ComparableSddl $current $dropInherited
        if ($want -cne $have) {
            # Directory.SetAccessControl writes exactly the sections set above and
            # fails loudly (e.g. an owner the caller may not assign) instead of
            # silently dropping a part.
            [System.IO.Directory]::SetAccessControl($dir.FullName, $desired)
            $Data['sddl_changed'] = $true
        }
    }
    catch {
        # Never leave a folder behind with the ACL it inherited: remove what
        # this operation made, innermost first, then report the failure.
        $failure = $_
        for ($i = $created.Count - 1; $i -ge 0; $i--) {
            try { [System.IO.Directory]::Delete([string]$created[$i], $false) } catch { break }
        }
        throw $failure
    }
    finally {
        foreach ($name in $restore) { $null = [CrashdumpWindows.TokenPrivilege]::Set($name, $false) }
    }
}

function Invoke-DirRemove {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $Data['removed'] = $false
    $Data['reason'] = $null
    if (-not [System.IO.Directory]::Exists($path)) {
        if ([System.IO.File]::Exists($path)) {
            throw (New-AgentException 'System.IO.IOException' 'path is a file, not a directory')
        }
        $Data['reason'] = 'absent'
        return
    }
    $empty = $true
    foreach ($entry in [System.IO.Directory]::EnumerateFileSystemEntries($path)) {
        $empty = $false
        break
    }
    if (-not $empty) {
        $Data['reason'] = 'not_empty'
        return
    }
    # Non-recursive: fails rather than deleting anything that appeared since.
    [System.IO.Directory]::Delete($path, $false)
    $Data['removed'] = $true
}

# Streaming SHA-256 that shares the file for read, write and delete, so a dump
# still being written (or rotated by WER) is not blocked. The CNG/CAPI
# provider is used because SHA256Managed fails when FIPS mode is enforced.
function Get-FileSha256 {
    param([string]$Path)
    $stream = $null
    $hasher = $null
    try {
        $share = [System.IO.FileShare]'ReadWrite, Delete'
        $stream = New-Object System.IO.FileStream -ArgumentList @($Path, [System.IO.FileMode]::Open,
            [System.IO.FileAccess]::Read, $share, 1048576)
        $hasher = New-Object System.Security.Cryptography.SHA256CryptoServiceProvider
        $digest = $hasher.ComputeHash($stream)
        return (ConvertTo-Hex $digest)
    }
    finally {
        if ($null -ne $hasher) { $hasher.Dispose() }
        if ($null -ne $stream) { $stream.Dispose() }
    }
}

# ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION: open elsewhere without
# read sharing (WerFault writing a dump).
function Test-IsLockedError {
    param($Exception)
    $code = [long]$Exception.HResult
    return ($code -eq -2147024864 -or $code -eq -2147024863)
}

# A file that cannot be read is reported with the file, not as a failure.
function New-FileEntry {
    param([System.IO.FileInfo]$File, [bool]$WithHash)
    $Entry = [ordered]@{
        name   = $File.Name
        path   = $File.FullName
        size   = $File.Length
        mtime  = (Format-IsoTime $File.LastWriteTimeUtc)
        ctime  = (Format-IsoTime $File.CreationTimeUtc)
        sha256 = $null
        error  = $null
        locked = $false
    }
    if (-not $WithHash) { return $Entry }
    try { $Entry['sha256'] = Get-FileSha256 $File.FullName }
    catch {
        $ex = $_.Exception
        if ($ex -is [System.Management.Automation.MethodInvocationException] -and $null -ne $ex.InnerException) {
            $ex = $ex.InnerException
        }
        $Entry['error'] = [string]$ex.Message
        $Entry['locked'] = (Test-IsLockedError $ex)
    }
    return $Entry
}

function Invoke-FileList {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $pattern = Get-Field $Op 'pattern' '*'
    if (-not ($pattern -is [string])) {
        throw (New-AgentException 'System.ArgumentException' "field 'pattern' must be a string")
    }
    if ($pattern -eq '') { $pattern = '*' }
    $withHash = Get-OptionalBool $Op 'sha256' $false
    $files = New-Object System.Collections.Generic.List[object]
    $Data['exists'] = $false
    $Data['files'] = $files
    if (-not [System.IO.Directory]::Exists($path)) { return }
    $Data['exists'] = $true
    # The folder is taken literally; only the pattern is a wildcard: Windows
    # '*' and '?', case-insensitive, everything else literal (no PowerShell
    # [a-z] classes, no 8.3 short-name matches as with -Filter).
    $regexText = '^' + ([regex]::Escape($pattern) -replace '\\\*', '.*' -replace '\\\?', '.') + '\z'
    $options = [System.Text.RegularExpressions.RegexOptions]'IgnoreCase, CultureInvariant, Singleline'
    $matcher = New-Object System.Text.RegularExpressions.Regex -ArgumentList @($regexText, $options)
    $dir = New-Object System.IO.DirectoryInfo -ArgumentList $path
    foreach ($file in ($dir.GetFiles() | Sort-Object -Property Name)) {
        if (-not $matcher.IsMatch($file.Name)) { continue }
        $files.Add((New-FileEntry $file $withHash))
    }
}

function Invoke-FileRemove {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $Data['removed'] = $false
    if ([System.IO.File]::Exists($path)) {
        # File.Delete refuses a read-only file; the attribute is never cleared.
        $attributes = [System.IO.File]::GetAttributes($path)
        if (($attributes -band [System.IO.FileAttributes]::ReadOnly) -ne 0) {
            throw (New-AgentException 'System.UnauthorizedAccessException' 'the file is read-only: it was left in place')
        }
        [System.IO.File]::Delete($path)
        $Data['removed'] = $true
    }
    elseif ([System.IO.Directory]::Exists($path)) {
        throw (New-AgentException 'System.IO.IOException' 'path is a directory, not a file')
    }
}

# ---------------------------------------------------------------------------
# System facts, services, processes, events.
# ---------------------------------------------------------------------------

# CIM first; Get-WmiObject where CIM is missing or fails (e.g. the WinRM/CIM
# stack is broken or restricted). Returns the instances as a List plus which
# API produced them (their dates and methods differ).
function Get-ManagementInstances {
    param([string]$ClassName, [string]$Filter)
    $items = New-Object System.Collections.Generic.List[object]
    $useCim = $null -ne (Get-Command -Name 'Get-CimInstance' -ErrorAction SilentlyContinue)
    if ($useCim) {
        $cimArgs = @{ ClassName = $ClassName }
        if ($Filter -ne '') { $cimArgs['Filter'] = $Filter }
        try {
            foreach ($instance in @(Get-CimInstance @cimArgs)) { $items.Add($instance) }
        }
        catch {
            $useCim = $false
            $items.Clear()
        }
    }
    if (-not $useCim) {
        $wmiArgs = @{ Class = $ClassName }
        if ($Filter -ne '') { $wmiArgs['Filter'] = $Filter }
        foreach ($instance in @(Get-WmiObject @wmiArgs)) { $items.Add($instance) }
    }
    return @{ Cim = $useCim; Items = $items }
}

function ConvertTo-WqlString {
    param([string]$Text)
    return "'" + $Text.Replace('\', '\\').Replace("'", "\'") + "'"
}

function Get-EnvValue {
    param([string]$Name)
    return [System.Environment]::GetEnvironmentVariable($Name)
}

function Invoke-OsFacts {
    param($Op, $Data)
    $os = $null
    foreach ($instance in (Get-ManagementInstances 'Win32_OperatingSystem' '')['Items']) { $os = $instance }
    if ($null -eq $os) {
        throw (New-AgentException 'System.InvalidOperationException' 'Win32_OperatingSystem returned no instance')
    }
    # The OS architecture, not this process's: a 32-bit PowerShell on 64-bit
    # Windows sees x86 in PROCESSOR_ARCHITECTURE and the truth in
    # PROCESSOR_ARCHITEW6432.
    $arch = Get-EnvValue 'PROCESSOR_ARCHITEW6432'
    if ([string]::IsNullOrEmpty($arch)) { $arch = Get-EnvValue 'PROCESSOR_ARCHITECTURE' }
    $envFacts = [ordered]@{}
    foreach ($name in @('SystemRoot', 'ProgramData', 'ProgramFiles', 'ProgramW6432', 'windir', 'SystemDrive')) {
        $envFacts[$name] = Get-EnvValue $name
    }
    $caption = $null
    if ($null -ne $os.Caption) { $caption = ([string]$os.Caption).Trim() }
    $build = $null
    if ($null -ne $os.BuildNumber) { $build = [int]$os.BuildNumber }
    $Data['hostname'] = [System.Net.Dns]::GetHostName()
    $Data['os_name'] = $caption
    $Data['version'] = [string]$os.Version
    $Data['build'] = $build
    $Data['arch'] = $arch
    $Data['is_64bit'] = [System.Environment]::Is64BitOperatingSystem
    $Data['process_64bit'] = [System.Environment]::Is64BitProcess
    $Data['ps_version'] = $PSVersionTable.PSVersion.ToString()
    $Data['language_mode'] = [string]$ExecutionContext.SessionState.LanguageMode
    $Data['system_root'] = Get-EnvValue 'SystemRoot'
    $Data['env'] = $envFacts
}

# Restarts a service, or starts it when stopped, then waits until it runs: a new
# process picks up image flags such as page heap. Refuses, before stopping
# anything, a service that could not start again (start mode Disabled, or a
# running dependent that is). ServiceController.Stop stops every running
# dependent first; they are started again afterwards, in start order, as
# Restart-Service does. restart_effective: the service now runs in a process
# that no service ran in before (one sharing a svchost with other running
# services keeps that process, and its old image flags).
function Invoke-ServiceRestart {
    param($Op, $Data)
    $name = Get-RequiredString $Op 'name'
    # Get-Service fails with a message naming the service when it does not exist.
    $service = Get-Service -Name $name
    $before = [ordered]@{}
    $pidsBefore = Read-ServiceState $name $before
    $again = New-Object System.Collections.Generic.List[object]
    $check = @(@{ name = $before['name']; start_mode = $before['start_mode'] })
    foreach ($dependent in $before['dependents']) {
        if ($dependent['status'] -ne 'Stopped') {
            # DependentServices lists them in reverse start order.
            $again.Insert(0, $dependent['name'])
            $check += @{ name = $dependent['name']; start_mode = $dependent['start_mode'] }
        }
    }
    foreach ($item in $check) {
        if ($item['start_mode'] -eq 'Disabled') {
            throw (New-AgentException 'System.InvalidOperationException' ("service '" + $item['name'] +
                    "' is disabled (start mode Disabled) and could not start again: nothing was stopped"))
        }
    }
    # Stop and start by hand: Restart-Service waits without limit for a service
    # stuck stopping or starting. -Force stops the services that depend on it.
    $limit = [TimeSpan]::FromSeconds(120)
    Stop-Service -InputObject $service -Force -NoWait -WarningAction SilentlyContinue
    $service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, $limit)
    $deadline = [DateTime]::UtcNow.Add($limit)
    $service.Start()
    Wait-ServiceRunning $service $deadline
    foreach ($dependentName in $again) {
        $dependent = Get-Service -Name $dependentName
        if ($dependent.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Stopped) { $dependent.Start() }
        Wait-ServiceRunning $dependent $deadline
    }
    $null = Read-ServiceState $name $Data
    $pidAfter = [long]$Data['pid']
    $Data['previous_status'] = $before['status']
    $Data['pid_before'] = $before['pid']
    $Data['restarted_dependents'] = $again
    $Data['restart_effective'] = ($pidAfter -ne 0 -and -not $pidsBefore.ContainsKey($pidAfter))
}

# Waits for Running until the shared start deadline (two minutes for the
# service and the dependents started again).
function Wait-ServiceRunning {
    param($Service, [DateTime]$Deadline)
    $left = $Deadline - [DateTime]::UtcNow
    if ($left -lt [TimeSpan]::Zero) { $left = [TimeSpan]::Zero }
    $Service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, $left)
}

function Invoke-ServiceState {
    param($Op, $Data)
    $null = Read-ServiceState (Get-RequiredString $Op 'name') $Data
}

# One service into $Data, with its dependents (DependentServices: direct and
# indirect, in reverse start order) and the other running services in its
# process. Returns the process ids running services had, as a hashtable.
function Read-ServiceState {
    param([string]$Name, $Data)
    $Data['exists'] = $false
    $Data['name'] = $Name
    $Data['display_name'] = $null
    $Data['status'] = $null
    $Data['start_mode'] = $null
    $Data['account'] = $null
    $Data['pid'] = $null
    $Data['dependents'] = New-Object System.Collections.Generic.List[object]
    $Data['shared_with'] = New-Object System.Collections.Generic.List[object]
    $all = @{}
    $pids = @{}
    foreach ($item in (Get-ManagementInstances 'Win32_Service' '')['Items']) {
        $all[[string]$item.Name] = $item
        if ([long]$item.ProcessId -ne 0) { $pids[[long]$item.ProcessId] = $true }
    }
    # A PowerShell hashtable compares its keys ignoring case, as service names are compared.
    if (-not $all.ContainsKey($Name)) { return $pids }
    $service = $all[$Name]
    $Data['exists'] = $true
    $Data['name'] = [string]$service.Name
    $Data['display_name'] = $service.DisplayName
    $Data['status'] = $service.State
    $Data['start_mode'] = $service.StartMode
    $Data['account'] = $service.StartName
    $Data['pid'] = $service.ProcessId
    foreach ($dependent in (Get-Service -Name $Data['name']).DependentServices) {
        $mode = $null
        if ($all.ContainsKey($dependent.ServiceName)) { $mode = $all[$dependent.ServiceName].StartMode }
        $Data['dependents'].Add([ordered]@{
                name       = $dependent.ServiceName
                status     = [string]$dependent.Status
                start_mode = $mode
            })
    }
    $names = New-Object System.Collections.Generic.List[string]
    foreach ($other in $all.Values) {
        if ([long]$service.ProcessId -ne 0 -and [long]$other.ProcessId -eq [long]$service.ProcessId -and
            [string]$other.Name -ne [string]$service.Name) {
            $names.Add([string]$other.Name)
        }
    }
    $names.Sort([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($other in $names) { $Data['shared_with'].Add($other) }
    return $pids
}

function Get-ProcessAccount {
    param($Process, [bool]$Cim)
    # GetOwner is slow and fails for protected or exited processes; the
    # account is then unknown rather than the whole operation failing.
    try {
        $owner = $null
        if ($Cim) { $owner = Invoke-CimMethod -InputObject $Process -MethodName 'GetOwner' }
        else { $owner = $Process.GetOwner() }
        if ($null -eq $owner -or [int]$owner.ReturnValue -ne 0 -or [string]::IsNullOrEmpty($owner.User)) { return $null }
        if ([string]::IsNullOrEmpty($owner.Domain)) { return [string]$owner.User }
        return ([string]$owner.Domain + '\' + [string]$owner.User)
    }
    catch {
        return $null
    }
}

function Invoke-ProcessList {
    param($Op, $Data)
    $names = Get-ListField $Op 'names'
    $wanted = @{}
    foreach ($n in $names) {
        if (-not ($n -is [string])) { throw (New-AgentException 'System.ArgumentException' "field 'names' must be a list of strings") }
        $wanted[$n.ToLowerInvariant()] = $true
    }
    $processes = New-Object System.Collections.Generic.List[object]
    $Data['processes'] = $processes
    # All processes are read and filtered here: no user text goes into WQL.
    $found = Get-ManagementInstances 'Win32_Process' ''
    $matched = New-Object System.Collections.Generic.List[object]
    foreach ($proc in $found['Items']) {
        if ($wanted.Count -eq 0 -or $wanted.ContainsKey(([string]$proc.Name).ToLowerInvariant())) { $matched.Add($proc) }
    }
    if ($matched.Count -eq 0) { return }
    $servicesByPid = @{}
    foreach ($service in (Get-ManagementInstances 'Win32_Service' 'ProcessId <> 0')['Items']) {
        $serviceKey = [long]$service.ProcessId
        if (-not $servicesByPid.ContainsKey($serviceKey)) {
            $servicesByPid[$serviceKey] = New-Object System.Collections.Generic.List[object]
        }
        $servicesByPid[$serviceKey].Add([string]$service.Name)
    }
    foreach ($proc in $matched) {
        $procId = [long]$proc.ProcessId
        $serviceNames = New-Object System.Collections.Generic.List[object]
        if ($servicesByPid.ContainsKey($procId)) { $serviceNames = $servicesByPid[$procId] }
        $processes.Add([ordered]@{
                name       = [string]$proc.Name
                pid        = $procId
                start_time = (Format-IsoTime $proc.CreationDate)
                account    = (Get-ProcessAccount $proc $found['Cim'])
                path       = $proc.ExecutablePath
                services   = $serviceNames
            })
    }
}

# An XPath 1.0 string literal; the event log's XPath subset has no concat(),
# so a text holding both quote characters cannot be written.
function ConvertTo-XPathLiteral {
    param([string]$Text)
    if (-not $Text.Contains("'")) { return "'" + $Text + "'" }
    if (-not $Text.Contains('"')) { return '"' + $Text + '"' }
    throw (New-AgentException 'System.ArgumentException' "field 'providers' cannot name a provider holding both ' and `"")
}

# The query is an XPath filter in UTC, not a FilterHashtable: its StartTime
# goes through local time (the hour repeated when daylight saving time ends
# matches only once), its ProviderName fails the whole query for a provider
# not registered on the host ("There is not an event provider on the
# localhost computer that matches ..."), and MaxEvents applies before any
# exact filter done here. One event more than asked tells truncation.
function Invoke-EventQuery {
    param($Op, $Data)
    $log = Get-Field $Op 'log' 'Application'
    if (-not ($log -is [string]) -or $log -eq '') {
        throw (New-AgentException 'System.ArgumentException' "field 'log' must be a log name")
    }
    $providers = Get-ListField $Op 'providers'
    $ids = Get-ListField $Op 'ids'
    $since = Get-Field $Op 'since'
    $maxEvents = Get-Field $Op 'max_events'
    $events = New-Object System.Collections.Generic.List[object]
    $unregistered = New-Object System.Collections.Generic.List[object]
    $Data['events'] = $events
    $Data['truncated'] = $false
    $Data['unregistered_providers'] = $unregistered

    $conditions = New-Object System.Collections.Generic.List[string]
    if ($providers.Count -gt 0) {
        $registered = @{}
        foreach ($n in [System.Diagnostics.Eventing.Reader.EventLogSession]::GlobalSession.GetProviderNames()) {
            $registered[$n.ToLowerInvariant()] = $true
        }
        $terms = New-Object System.Collections.Generic.List[string]
        foreach ($p in $providers) {
            if (-not ($p -is [string])) { throw (New-AgentException 'System.ArgumentException' "field 'providers' must be a list of strings") }
            $terms.Add('Provider[@Name=' + (ConvertTo-XPathLiteral $p) + ']')
            if (-not $registered.ContainsKey($p.ToLowerInvariant())) { $unregistered.Add($p) }
        }
        $conditions.Add('(' + ($terms -join ' or ') + ')')
    }
    if ($ids.Count -gt 0) {
        $terms = New-Object System.Collections.Generic.List[string]
        foreach ($id in $ids) { $terms.Add('EventID=' + ([int](ConvertTo-CheckedInteger $id 'ids' 0 65535)).ToString($Invariant)) }
        $conditions.Add('(' + ($terms -join ' or ') + ')')
    }
    if ($null -ne $since) {
        if (-not ($since -is [string])) { throw (New-AgentException 'System.ArgumentException' "field 'since' must be an ISO 8601 string or null") }
        $styles = [System.Globalization.DateTimeStyles]::AssumeUniversal
        $sinceUtc = [System.DateTimeOffset]::Parse($since, $Invariant, $styles).UtcDateTime
        $conditions.Add("TimeCreated[@SystemTime>='" + $sinceUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", $Invariant) + "']")
    }
    $xpath = '*'
    if ($conditions.Count -gt 0) { $xpath = '*[System[' + ($conditions -join ' and ') + ']]' }
    $query = @{ LogName = $log; FilterXPath = $xpath; ErrorAction = 'Stop' }
    $limit = $null
    if ($null -ne $maxEvents) {
        $limit = [long](ConvertTo-CheckedInteger $maxEvents 'max_events' 0 ([decimal]([long]::MaxValue - 1)))
        $query['MaxEvents'] = $limit + 1
    }

    $records = @()
    try {
        $records = @(Get-WinEvent @query)
    }
    catch {
        # Get-WinEvent reports "nothing matched" as an error; for this
        # protocol it is an empty list. Any other error fails the operation.
        $errorId = [string]$_.FullyQualifiedErrorId
        if ($errorId -like 'NoMatchingEventsFound*') { $records = @() }
        else { throw }
    }
    if ($null -ne $limit -and $records.Count -gt $limit) {
        $Data['truncated'] = $true
        if ($limit -eq 0) { $records = @() } else { $records = $records[0..($limit - 1)] }
    }
    # Get-WinEvent returns newest first.
    foreach ($record in $records) {
        $properties = New-Object System.Collections.Generic.List[object]
        if ($null -ne $record.Properties) {
            foreach ($property in $record.Properties) { $properties.Add((ConvertTo-PlainValue $property.Value)) }
        }
        $level = $null
        if ($null -ne $record.Level) { $level = [int]$record.Level }
        $events.Add([ordered]@{
                log        = $record.LogName
                provider   = $record.ProviderName
                id         = $record.Id
                level      = $level
                time       = (Format-IsoTime $record.TimeCreated)
                record_id  = $record.RecordId
                machine    = $record.MachineName
                properties = $properties
            })
    }
}

# ---------------------------------------------------------------------------
# Harvest: finding dumps, a private temp folder, compression.
# ---------------------------------------------------------------------------

function ConvertFrom-IsoTimeField {
    param($Op, [string]$Name)
    $value = Get-Field $Op $Name
    if ($null -eq $value) { return $null }
    if (-not ($value -is [string])) {
        throw (New-AgentException 'System.ArgumentException' ("field '" + $Name + "' must be an ISO 8601 string or null"))
    }
    $styles = [System.Globalization.DateTimeStyles]::AssumeUniversal
    return [System.DateTimeOffset]::Parse($value, $Invariant, $styles).UtcDateTime
}

function New-WildcardMatcher {
    param([string]$Pattern)
    # As in file_list: '*' and '?' only, case-insensitive, everything else literal.
    $regexText = '^' + ([regex]::Escape($Pattern) -replace '\\\*', '.*' -replace '\\\?', '.') + '\z'
    $options = [System.Text.RegularExpressions.RegexOptions]'IgnoreCase, CultureInvariant, Singleline'
    return (New-Object System.Text.RegularExpressions.Regex -ArgumentList @($regexText, $options))
}

# User profiles as ProfileList lists them: the SID and ProfileImagePath
# (expanded: only machine-wide variables such as %SystemRoot% appear there).
function Get-UserProfiles {
    $profiles = New-Object System.Collections.Generic.List[object]
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine,
        [Microsoft.Win32.RegistryView]::Registry64)
    $list = $null
    try {
        $list = $base.OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList', $false)
        if ($null -eq $list) { return , $profiles }
        foreach ($sid in @($list.GetSubKeyNames() | Sort-Object)) {
            $entry = $list.OpenSubKey($sid, $false)
            if ($null -eq $entry) { continue }
            try {
                $imagePath = $entry.GetValue('ProfileImagePath', $null)
                if ($imagePath -is [string] -and $imagePath -ne '') {
                    $profiles.Add([ordered]@{ sid = $sid; path = $imagePath })
                }
            }
            finally {
                $entry.Dispose()
            }
        }
    }
    finally {
        Close-RegistryKeys $list $base
    }
    return , $profiles
}

# Replaces each %NAME%: a name in $ProfileVars by the profile folder plus its
# suffix, any other name from the agent's environment; unknown names stay.
function Expand-FolderTemplate {
    param([string]$Template, [hashtable]$ProfileVars, $ProfilePath)
    $sb = New-Object System.Text.StringBuilder
    $last = 0
    foreach ($m in [regex]::Matches($Template, '%([^%]+)%')) {
        [void]$sb.Append($Template.Substring($last, $m.Index - $last))
        $name = $m.Groups[1].Value
        $value = $null
        if ($ProfileVars.ContainsKey($name) -and $null -ne $ProfilePath) {
            $value = [string]$ProfilePath
            $suffix = $ProfileVars[$name]
            if ($suffix -ne '') { $value = $value.TrimEnd([char]'\') + '\' + $suffix }
        }
        elseif (-not $ProfileVars.ContainsKey($name)) {
            $value = [System.Environment]::GetEnvironmentVariable($name)
        }
        if ($null -eq $value) { [void]$sb.Append($m.Value) } else { [void]$sb.Append($value) }
        $last = $m.Index + $m.Length
    }
    [void]$sb.Append($Template.Substring($last))
    return $sb.ToString()
}

# The folder a file_find source names, before expansion: a literal path or
# the data of a REG_SZ / REG_EXPAND_SZ value ($null when there is none).
function Get-FolderTemplate {
    param($Spec, $Source)
    if ($null -ne (Get-Field $Spec 'key')) {
        $target = Resolve-RegistryKey $Spec
        $valueName = Get-RequiredString $Spec 'name'
        $base = Open-RegistryBase $target
        $key = $null
        try {
            $key = Open-RegistrySubKey $base $target['SubPath'] $false
            if ($null -eq $key) { return $null }
            if (-not (@($key.GetValueNames()) -contains $valueName)) { return $null }
            $kind = [string]$key.GetValueKind($valueName)
            if ($kind -ne 'String' -and $kind -ne 'ExpandString') { return $null }
            $Source['type'] = 'REG_SZ'
            if ($kind -eq 'ExpandString') { $Source['type'] = 'REG_EXPAND_SZ' }
            $options = [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames
            return [string]$key.GetValue($valueName, $null, $options)
        }
        finally {
            Close-RegistryKeys $key $base
        }
    }
    return (Get-RequiredString $Spec 'path')
}

function Invoke-FileFind {
    param($Op, $Data)
    $specs = Get-ListField $Op 'folders'
    $patterns = Get-ListField $Op 'patterns'
    $withHash = Get-OptionalBool $Op 'sha256' $false
    $sinceUtc = ConvertFrom-IsoTimeField $Op 'since'
    $profileVars = @{}
    $varsField = Get-Field $Op 'profile_vars'
    if ($null -ne $varsField) {
        if (-not ($varsField -is [System.Management.Automation.PSCustomObject])) {
            throw (New-AgentException 'System.ArgumentException' "field 'profile_vars' must be an object")
        }
        foreach ($prop in $varsField.PSObject.Properties) {
            if ($null -ne $prop.Value -and -not ($prop.Value -is [string])) {
                throw (New-AgentException 'System.ArgumentException' "field 'profile_vars' must map names to strings or null")
            }
            $profileVars[$prop.Name] = $prop.Value
        }
    }
    $matchers = New-Object System.Collections.Generic.List[object]
    foreach ($pattern in $patterns) {
        if (-not ($pattern -is [string]) -or $pattern -eq '') {
            throw (New-AgentException 'System.ArgumentException' "field 'patterns' must be a list of wildcards")
        }
        $matchers.Add((New-WildcardMatcher $pattern))
    }
    $profiles = Get-UserProfiles
    $sources = New-Object System.Collections.Generic.List[object]
    $folders = New-Object System.Collections.Generic.List[object]
    $byPath = @{}
    $Data['profiles'] = $profiles
    $Data['sources'] = $sources
    $Data['folders'] = $folders

    for ($i = 0; $i -lt $specs.Count; $i++) {
        $source = [ordered]@{ found = $false; template = $null; type = $null; per_profile = $false; skipped = $null }
        $sources.Add($source)
        $template = Get-FolderTemplate $specs[$i] $source
        if ($null -eq $template -or $template -eq '') { continue }
        $source['found'] = $true
        $source['template'] = $template
        foreach ($m in [regex]::Matches($template, '%([^%]+)%')) {
            $name = $m.Groups[1].Value
            if (-not $profileVars.ContainsKey($name)) { continue }
            $source['per_profile'] = $true
            if ($null -eq $profileVars[$name]) { $source['skipped'] = 'no per-profile value for %' + $name + '%' }
        }
        if ($null -ne $source['skipped']) { continue }
        $targets = New-Object System.Collections.Generic.List[object]
        if ($source['per_profile']) {
            foreach ($userProfile in $profiles) {
                $targets.Add(@((Expand-FolderTemplate $template $profileVars $userProfile['path']), $userProfile['sid']))
            }
        }
        else {
            $targets.Add(@((Expand-FolderTemplate $template $profileVars $null), $null))
        }
        foreach ($target in $targets) {
            $folderPath = ([string]$target[0]).TrimEnd([char]'\')
            if ($folderPath.EndsWith(':')) { $folderPath = $folderPath + '\' }
            $identity = $folderPath
            try { $identity = [System.IO.Path]::GetFullPath($folderPath) } catch { $identity = $folderPath }
            $identity = $identity.TrimEnd([char]'\').ToLowerInvariant()
            if ($byPath.ContainsKey($identity)) {
                $byPath[$identity]['sources'].Add($i)
                continue
            }
            $sourceList = New-Object System.Collections.Generic.List[object]
            $sourceList.Add($i)
            $folder = [ordered]@{ path = $folderPath; profile = $target[1]; sources = $sourceList; exists = $false
                files = (New-Object System.Collections.Generic.List[object]); error = $null }
            $byPath[$identity] = $folder
            $folders.Add($folder)
        }
    }

    foreach ($folder in $folders) {
        try {
            # A folder left relative (an unknown variable) is not looked up
            # in the agent's current directory.
            if (-not [System.IO.Path]::IsPathRooted($folder['path'])) { continue }
            if (-not [System.IO.Directory]::Exists($folder['path'])) { continue }
            $folder['exists'] = $true
            $dir = New-Object System.IO.DirectoryInfo -ArgumentList $folder['path']
            foreach ($file in ($dir.GetFiles() | Sort-Object -Property Name)) {
                $matched = $false
                foreach ($matcher in $matchers) { if ($matcher.IsMatch($file.Name)) { $matched = $true } }
                if (-not $matched) { continue }
                if ($null -ne $sinceUtc -and $file.LastWriteTimeUtc -lt $sinceUtc) { continue }
                $folder['files'].Add((New-FileEntry $file $withHash))
            }
        }
        catch {
            # One unreadable folder (a profile the agent may not list) is
            # reported with the folder, not as a failed operation.
            $folder['files'].Clear()
            $folder['error'] = [string]$_.Exception.Message
        }
    }
}

function Invoke-TempDir {
    param($Op, $Data)
    $name = Get-RequiredString $Op 'name'
    if (-not ($name -cmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z')) {
        throw (New-AgentException 'System.ArgumentException' "field 'name' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    }
    $create = Get-OptionalBool $Op 'create' $false
    $path = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), $name)
    $files = New-Object System.Collections.Generic.List[object]
    $Data['path'] = $path
    $Data['exists'] = $false
    $Data['created'] = $false
    $Data['files'] = $files
    if ([System.IO.File]::Exists($path)) {
        throw (New-AgentException 'System.IO.IOException' 'path is a file, not a directory')
    }
    if ($create) {
        # Protected: SYSTEM, Administrators and the agent's own account only.
        $user = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
        $security = New-Object System.Security.AccessControl.DirectorySecurity
        $security.SetSecurityDescriptorSddlForm(('D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;' + $user + ')'),
            [System.Security.AccessControl.AccessControlSections]::Access)
        if ([System.IO.Directory]::Exists($path)) {
            [System.IO.Directory]::SetAccessControl($path, $security)
        }
        else {
            $null = [System.IO.Directory]::CreateDirectory($path, $security)
            $Data['created'] = $true
        }
    }
    if (-not [System.IO.Directory]::Exists($path)) { return }
    $Data['exists'] = $true
    $dir = New-Object System.IO.DirectoryInfo -ArgumentList $path
    foreach ($file in ($dir.GetFiles() | Sort-Object -Property Name)) {
        $files.Add([ordered]@{
                name  = $file.Name
                path  = $file.FullName
                size  = $file.Length
                mtime = (Format-IsoTime $file.LastWriteTimeUtc)
            })
    }
}

# GZip (System.IO.Compression.GZipStream, CompressionLevel Optimal) of
# $path into $dest, hashing the original on the way; a partial $dest is
# deleted when anything fails.
function Invoke-FileCompress {
    param($Op, $Data)
    $path = Get-RequiredPath $Op 'path'
    $dest = Get-RequiredPath $Op 'dest'
    if ([System.IO.Path]::GetFullPath($path) -eq [System.IO.Path]::GetFullPath($dest)) {
        throw (New-AgentException 'System.ArgumentException' "fields 'path' and 'dest' name the same file")
    }
    $source = $null
    $target = $null
    $gzip = $null
    $hasher = $null
    $complete = $false
    $total = [long]0
    try {
        $share = [System.IO.FileShare]'ReadWrite, Delete'
        $source = New-Object System.IO.FileStream -ArgumentList @($path, [System.IO.FileMode]::Open,
            [System.IO.FileAccess]::Read, $share, 1048576)
        $target = New-Object System.IO.FileStream -ArgumentList @($dest, [System.IO.FileMode]::Create,
            [System.IO.FileAccess]::Write, [System.IO.FileShare]::None, 1048576)
        $gzip = New-Object System.IO.Compression.GZipStream -ArgumentList @($target,
            [System.IO.Compression.CompressionLevel]::Optimal, $true)
        $hasher = New-Object System.Security.Cryptography.SHA256CryptoServiceProvider
        $buffer = New-Object -TypeName 'byte[]' -ArgumentList 1048576
        $read = $source.Read($buffer, 0, $buffer.Length)
        while ($read -gt 0) {
            [void]$hasher.TransformBlock($buffer, 0, $read, $null, 0)
            $gzip.Write($buffer, 0, $read)
            $total += $read
            $read = $source.Read($buffer, 0, $buffer.Length)
        }
        [void]$hasher.TransformFinalBlock($buffer, 0, 0)
        # Disposing the GZipStream writes the GZip footer into the target.
        $gzip.Dispose()
        $gzip = $null
        $target.Dispose()
        $target = $null
        $complete = $true
        $Data['size'] = $total
        $Data['sha256'] = ConvertTo-Hex $hasher.Hash
        $Data['compressed_size'] = (New-Object System.IO.FileInfo -ArgumentList $dest).Length
        $Data['compressed_sha256'] = Get-FileSha256 $dest
    }
    finally {
        # Each on its own: a full disk makes the target's Dispose throw too, and the
        # partial $dest must still go.
        if ($null -ne $gzip) { try { $gzip.Dispose() } catch { $gzip = $null } }
        if ($null -ne $target) { try { $target.Dispose() } catch { $complete = $false } }
        if ($null -ne $source) { try { $source.Dispose() } catch { $source = $null } }
        if ($null -ne $hasher) { try { $hasher.Dispose() } catch { $hasher = $null } }
        if (-not $complete -and $null -ne $target) {
            try { [System.IO.File]::Delete($dest) } catch { $target = $null }
        }
    }
}

# ---------------------------------------------------------------------------
# Preflight: installed image files, process memory, where a dump folder lands
# per account, Microsoft Defender, antivirus products, the newest update.
# ---------------------------------------------------------------------------

function Get-StringListField {
    param($Op, [string]$Name)
    $list = Get-ListField $Op $Name
    foreach ($item in $list) {
        if (-not ($item -is [string]) -or $item -eq '') {
            throw (New-AgentException 'System.ArgumentException' ("field '" + $Name + "' must be a list of non-empty strings"))
        }
    }
    return , $list
}

# Size, time and version resource of one executable; nulls where it has none.
function Get-ExecutableFacts {
    param([string]$Path)
    $facts = [ordered]@{ exists = $false; version = $null; product_version = $null; product_name = $null
        company = $null; size = $null; mtime = $null
    }
    $isFile = $false
    try { $isFile = [System.IO.File]::Exists($Path) } catch { $isFile = $false }
    if (-not $isFile) { return $facts }
    $info = New-Object System.IO.FileInfo -ArgumentList $Path
    $facts['exists'] = $true
    $facts['size'] = $info.Length
    $facts['mtime'] = Format-IsoTime $info.LastWriteTimeUtc
    try {
        $resource = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($Path)
        if ($null -ne $resource.FileVersion -or $resource.FileMajorPart -ne 0 -or $resource.FileMinorPart -ne 0) {
            $facts['version'] = ([string]$resource.FileMajorPart + '.' + [string]$resource.FileMinorPart + '.' +
                [string]$resource.FileBuildPart + '.' + [string]$resource.FilePrivatePart)
        }
        $facts['product_version'] = $resource.ProductVersion
        $facts['product_name'] = $resource.ProductName
        $facts['company'] = $resource.CompanyName
    }
    catch {
        # An unreadable version resource leaves the version unknown.
        $facts['version'] = $null
    }
    return $facts
}

# The executable of a service command line: quoted, up to ".exe", or the first word.
function Get-CommandLineExecutable {
    param([string]$CommandLine)
    if ([string]::IsNullOrEmpty($CommandLine)) { return $null }
    $m = [regex]::Match($CommandLine.Trim(), '^(?:"([^"]*)"?|(.*?\.exe)(?:\s|$)|(\S+))', 'IgnoreCase')
    foreach ($index in 1..3) {
        if ($m.Groups[$index].Success -and $m.Groups[$index].Value -ne '') {
            return [System.Environment]::ExpandEnvironmentVariables($m.Groups[$index].Value)
        }
    }
    return $null
}

function Add-ImageFileSource {
    param($Found, $Order, [string]$Path, [string]$Source)
    $identity = $Path.ToLowerInvariant()
    if (-not $Found.ContainsKey($identity)) {
        $Found[$identity] = [ordered]@{ path = $Path; sources = (New-Object System.Collections.Generic.List[object]) }
        $Order.Add($identity)
    }
    # App Paths is shared between the registry views since Windows 7: both reads find the same entry.
    if (-not $Found[$identity]['sources'].Contains($Source)) { $Found[$identity]['sources'].Add($Source) }
}

function Invoke-ImageFiles {
    param($Op, $Data)
    $name = Get-RequiredString $Op 'name'
    if ($name -eq '' -or $name.Contains('\') -or $name.Contains('/')) {
        throw (New-AgentException 'System.ArgumentException' "field 'name' must be a file name")
    }
    $given = Get-StringListField $Op 'paths'
    $found = @{}
    $order = New-Object System.Collections.Generic.List[string]
    $services = New-Object System.Collections.Generic.List[object]
    $systemRoot = Get-EnvValue 'SystemRoot'
    $folders = @('System32')
    if ([System.Environment]::Is64BitOperatingSystem) { $folders += 'SysWOW64' }
    foreach ($folder in $folders) {
        $path = $systemRoot + '\' + $folder + '\' + $name
        if ([System.IO.File]::Exists($path)) { Add-ImageFileSource $found $order $path $folder.ToLowerInvariant() }
    }
    foreach ($view in @([Microsoft.Win32.RegistryView]::Registry64, [Microsoft.Win32.RegistryView]::Registry32)) {
        $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $view)
        $key = $null
        try {
            $key = $base.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\' + $name, $false)
            if ($null -ne $key) {
                $registered = $key.GetValue('', $null)
                if ($registered -is [string] -and $registered.Trim() -ne '') {
                    $path = [System.Environment]::ExpandEnvironmentVariables($registered.Trim().Trim([char]'"'))
                    Add-ImageFileSource $found $order $path 'app_paths'
                }
            }
        }
        finally {
            Close-RegistryKeys $key $base
        }
    }
    foreach ($service in (Get-ManagementInstances 'Win32_Service' '')['Items']) {
        $binary = Get-CommandLineExecutable ([string]$service.PathName)
        if ($null -eq $binary) { continue }
        $leaf = $binary.Substring($binary.LastIndexOf('\') + 1)
        if ($leaf -ne $name) { continue }
        Add-ImageFileSource $found $order $binary ('service:' + [string]$service.Name)
        $services.Add([ordered]@{
                name         = [string]$service.Name
                display_name = $service.DisplayName
                account      = $service.StartName
                start_mode   = $service.StartMode
                status       = $service.State
                pid          = $service.ProcessId
                path         = $binary
            })
    }
    foreach ($proc in (Get-ManagementInstances 'Win32_Process' '')['Items']) {
        if ([string]$proc.Name -ne $name -or [string]::IsNullOrEmpty($proc.ExecutablePath)) { continue }
        Add-ImageFileSource $found $order ([string]$proc.ExecutablePath) ('process:' + [string]$proc.ProcessId)
    }
    foreach ($path in $given) {
        Add-ImageFileSource $found $order ([System.Environment]::ExpandEnvironmentVariables($path)) 'given'
    }
    $files = New-Object System.Collections.Generic.List[object]
    foreach ($identity in $order) {
        $entry = $found[$identity]
        $facts = Get-ExecutableFacts $entry['path']
        foreach ($field in $facts.Keys) { $entry[$field] = $facts[$field] }
        $files.Add($entry)
    }
    $Data['files'] = $files
    $Data['services'] = $services
}

function Invoke-ProcessMemory {
    param($Op, $Data)
    $wanted = @{}
    foreach ($n in (Get-StringListField $Op 'names')) { $wanted[$n.ToLowerInvariant()] = $true }
    $processes = New-Object System.Collections.Generic.List[object]
    $Data['processes'] = $processes
    foreach ($proc in (Get-ManagementInstances 'Win32_Process' '')['Items']) {
        if ($wanted.Count -gt 0 -and -not $wanted.ContainsKey(([string]$proc.Name).ToLowerInvariant())) { continue }
        # PrivatePageCount is in bytes (Private Bytes), despite its name.
        $private = $null
        if ($null -ne $proc.PrivatePageCount) { $private = [long]$proc.PrivatePageCount }
        $processes.Add([ordered]@{ name = [string]$proc.Name; pid = [long]$proc.ProcessId; private_bytes = $private })
    }
}

# The folder text a folder_probe names: the first REG_SZ / REG_EXPAND_SZ value
# of the list, unexpanded, or the default.
function Get-ProbedFolderText {
    param($Specs, $Default, $Data)
    for ($i = 0; $i -lt $Specs.Count; $i++) {
        $target = Resolve-RegistryKey $Specs[$i]
        $valueName = Get-RequiredString $Specs[$i] 'name'
        $base = Open-RegistryBase $target
        $key = $null
        try {
            $key = Open-RegistrySubKey $base $target['SubPath'] $false
            if ($null -eq $key -or -not (@($key.GetValueNames()) -contains $valueName)) { continue }
            $kind = [string]$key.GetValueKind($valueName)
            if ($kind -ne 'String' -and $kind -ne 'ExpandString') { continue }
            $Data['type'] = 'REG_SZ'
            if ($kind -eq 'ExpandString') { $Data['type'] = 'REG_EXPAND_SZ' }
            $Data['source'] = $i
            $options = [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames
            $Data['folder'] = [string]$key.GetValue($valueName, $null, $options)
            return
        }
        finally {
            Close-RegistryKeys $key $base
        }
    }
    if ($null -ne $Default) {
        $Data['folder'] = $Default
        $Data['type'] = 'REG_EXPAND_SZ'
    }
}

function Get-ProfileImagePath {
    param([string]$Sid)
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine,
        [Microsoft.Win32.RegistryView]::Registry64)
    $key = $null
    try {
        $key = $base.OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $Sid, $false)
        if ($null -eq $key) { return $null }
        $path = $key.GetValue('ProfileImagePath', $null)
        if ($path -is [string] -and $path -ne '') { return $path }
        return $null
    }
    finally {
        Close-RegistryKeys $key $base
    }
}

# %NAME% as WerFault running as the account would expand it: the account's
# own variables from its profile, the rest from the machine; unknown names,
# and per-account names of an account without a profile, stay.
function Expand-ForAccount {
    param([string]$Text, [string]$Sid, [string]$Account, $ProfilePath)
    $own = @{}
    if ($null -ne $ProfilePath) {
        $own['USERPROFILE'] = $ProfilePath
        $own['LOCALAPPDATA'] = $ProfilePath + '\AppData\Local'
        $own['APPDATA'] = $ProfilePath + '\AppData\Roaming'
        $own['TEMP'] = $ProfilePath + '\AppData\Local\Temp'
        $own['TMP'] = $own['TEMP']
    }
    if ($Sid -eq 'S-1-5-18') { $own['USERNAME'] = (Get-EnvValue 'COMPUTERNAME') + '$' }
    elseif ($Sid -eq 'S-1-5-19') { $own['USERNAME'] = 'LOCAL SERVICE' }
    elseif ($Sid -eq 'S-1-5-20') { $own['USERNAME'] = 'NETWORK SERVICE' }
    elseif (-not [string]::IsNullOrEmpty($Account)) { $own['USERNAME'] = $Account.Substring($Account.LastIndexOf('\') + 1) }
    $personal = @('USERPROFILE', 'LOCALAPPDATA', 'APPDATA', 'TEMP', 'TMP', 'USERNAME', 'HOMEDRIVE', 'HOMEPATH',
        'HOMESHARE', 'USERDOMAIN', 'USERDNSDOMAIN', 'LOGONSERVER', 'ONEDRIVE')
    $sb = New-Object System.Text.StringBuilder
    $last = 0
    foreach ($m in [regex]::Matches($Text, '%([^%]+)%')) {
        [void]$sb.Append($Text.Substring($last, $m.Index - $last))
        $varName = $m.Groups[1].Value
        $value = $null
        if ($own.ContainsKey($varName)) { $value = $own[$varName] }
        elseif ($personal -notcontains $varName) {
            $value = [System.Environment]::GetEnvironmentVariable($varName, 'Machine')
            if ($null -eq $value) { $value = Get-EnvValue $varName }
        }
        if ($null -eq $value) { [void]$sb.Append($m.Value) } else { [void]$sb.Append($value) }
        $last = $m.Index + $m.Length
    }
    [void]$sb.Append($Text.Substring($last))
    return $sb.ToString()
}

function Get-VolumeFacts {
    param([string]$Root)
    $drive = New-Object System.IO.DriveInfo -ArgumentList $Root
    $volume = [ordered]@{ root = $Root; exists = ([string]$drive.DriveType -ne 'NoRootDirectory'); ready = $false
        free_bytes = $null; total_bytes = $null; format = $null
    }
    if ($volume['exists'] -and $drive.IsReady) {
        $volume['ready'] = $true
        $volume['free_bytes'] = $drive.AvailableFreeSpace
        $volume['total_bytes'] = $drive.TotalSize
        $volume['format'] = $drive.DriveFormat
    }
    return $volume
}

function New-ProbeAccount {
    param($Name, $Sid, $Pids, $Folder, $Type)
    $entry = [ordered]@{ name = $Name; exists = $false; account = $null; sid = $Sid; profile = $null; pids = $Pids
        folder = $null; valid = $false; levels = (New-Object System.Collections.Generic.List[object]); volume = $null
    }
    if ($null -eq $Sid) { return $entry }
    $entry['exists'] = $true
    try {
        $identifier = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
        $entry['account'] = $identifier.Translate([System.Security.Principal.NTAccount]).Value
    }
    catch {
        $entry['account'] = $null
    }
    $entry['profile'] = Get-ProfileImagePath $Sid
    if ($null -eq $Folder) { return $entry }
    $text = $Folder
    if ($Type -eq 'REG_EXPAND_SZ') { $text = Expand-ForAccount $Folder $Sid $entry['account'] $entry['profile'] }
    $entry['folder'] = $text
    if (-not ($text -cmatch '^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)')) { return $entry }
    try { $full = [System.IO.Path]::GetFullPath($text) } catch { return $entry }
    $root = [System.IO.Path]::GetPathRoot($full)
    if ($full.Length -gt $root.Length) { $full = $full.TrimEnd([char]'\') }
    $entry['folder'] = $full
    $entry['valid'] = $true
    $cursor = $full
    while ($null -ne $cursor -and $cursor -ne '') {
        $level = [ordered]@{ path = $cursor; exists = $false; type = $null; sddl = $null; error = $null }
        $entry['levels'].Add($level)
        try {
            if ([System.IO.Directory]::Exists($cursor)) { $level['type'] = 'directory' }
            elseif ([System.IO.File]::Exists($cursor)) { $level['type'] = 'file' }
            if ($null -ne $level['type']) {
                $level['exists'] = $true
                $level['sddl'] = Get-PathSddl $cursor
            }
        }
        catch {
            # A folder the agent may not read is reported, not fatal.
            $level['error'] = [string]$_.Exception.Message
        }
        if ($level['exists']) { break }
        $cursor = [System.IO.Path]::GetDirectoryName($cursor)
    }
    if ($root -cmatch '^[A-Za-z]:\\$') { $entry['volume'] = Get-VolumeFacts $root }
    return $entry
}

function Get-OwnerSid {
    param($Process, [bool]$Cim)
    try {
        $owner = $null
        if ($Cim) { $owner = Invoke-CimMethod -InputObject $Process -MethodName 'GetOwnerSid' }
        else { $owner = $Process.GetOwnerSid() }
        if ($null -eq $owner -or [int]$owner.ReturnValue -ne 0 -or [string]::IsNullOrEmpty($owner.Sid)) { return $null }
        return [string]$owner.Sid
    }
    catch {
        return $null
    }
}

# The SID of a folder_probe account, or null when no account has it: a SID
# string as it is (names of built-in accounts are localised, their SIDs are
# not), '.\name' as this computer's account (NTAccount knows no '.'), any
# other name as Windows resolves it, in its own language.
function Resolve-AccountSid {
    param([string]$Name)
    try {
        if ($Name -match '^S-1-\d+(-\d+)+$') {
            $identifier = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Name
            $null = $identifier.Translate([System.Security.Principal.NTAccount])
            return $identifier.Value
        }
        if ($Name.StartsWith('.\')) { $Name = [System.Environment]::MachineName + $Name.Substring(1) }
        return (New-Object System.Security.Principal.NTAccount -ArgumentList $Name).Translate(
            [System.Security.Principal.SecurityIdentifier]).Value
    }
    catch {
        return $null
    }
}

function Invoke-FolderProbe {
    param($Op, $Data)
    $specs = Get-ListField $Op 'value'
    $default = Get-Field $Op 'default'
    if ($null -ne $default -and -not ($default -is [string])) {
        throw (New-AgentException 'System.ArgumentException' "field 'default' must be a string or null")
    }
    $names = Get-StringListField $Op 'accounts'
    $images = @{}
    foreach ($n in (Get-StringListField $Op 'process_names')) { $images[$n.ToLowerInvariant()] = $true }
    $Data['folder'] = $null
    $Data['type'] = $null
    $Data['source'] = $null
    Get-ProbedFolderText $specs $default $Data
    $probes = New-Object System.Collections.Generic.List[object]
    $Data['accounts'] = $probes
    foreach ($name in $names) {
        $sid = Resolve-AccountSid $name
        $probes.Add((New-ProbeAccount $name $sid (New-Object System.Collections.Generic.List[object]) $Data['folder'] $Data['type']))
    }
    if ($images.Count -eq 0) { return }
    $found = Get-ManagementInstances 'Win32_Process' ''
    $pidsBySid = [ordered]@{}
    foreach ($proc in $found['Items']) {
        if (-not $images.ContainsKey(([string]$proc.Name).ToLowerInvariant())) { continue }
        $sid = Get-OwnerSid $proc $found['Cim']
        if ($null -eq $sid) { continue }
        if (-not $pidsBySid.Contains($sid)) { $pidsBySid[$sid] = New-Object System.Collections.Generic.List[object] }
        $pidsBySid[$sid].Add([long]$proc.ProcessId)
    }
    foreach ($sid in @($pidsBySid.Keys)) {
        $probes.Add((New-ProbeAccount $null $sid $pidsBySid[$sid] $Data['folder'] $Data['type']))
    }
}

function Invoke-DefenderState {
    param($Op, $Data)
    $Data['available'] = $false
    $Data['reason'] = $null
    $Data['real_time_protection'] = $null
    $Data['am_running_mode'] = $null
    $Data['signature_age_days'] = $null
    $Data['exclusions_visible'] = $null
    $lists = @('exclusion_paths', 'exclusion_processes', 'exclusion_extensions')
    foreach ($field in $lists) { $Data[$field] = New-Object System.Collections.Generic.List[object] }
    if ($null -eq (Get-Command -Name 'Get-MpPreference' -ErrorAction SilentlyContinue)) {
        $Data['reason'] = 'Get-MpPreference is not available: the Defender PowerShell module is not installed'
        return
    }
    $preference = $null
    try { $preference = Get-MpPreference }
    catch {
        # Defender turned off (another antivirus product) answers with an error.
        $Data['reason'] = 'Get-MpPreference failed: ' + [string]$_.Exception.Message
        return
    }
    $Data['available'] = $true
    $Data['exclusions_visible'] = $true
    $sources = @($preference.ExclusionPath, $preference.ExclusionProcess, $preference.ExclusionExtension)
    for ($i = 0; $i -lt $lists.Count; $i++) {
        foreach ($item in @($sources[$i])) {
            if ($null -eq $item) { continue }
            # HideExclusionsFromLocalAdmins: "N/A: Must be an administrator to view exclusions".
            if ([string]$item -like 'N/A*') { $Data['exclusions_visible'] = $false }
            else { $Data[$lists[$i]].Add([string]$item) }
        }
    }
    if (-not $Data['exclusions_visible']) { foreach ($field in $lists) { $Data[$field].Clear() } }
    try {
        $status = Get-MpComputerStatus
        $Data['real_time_protection'] = [bool]$status.RealTimeProtectionEnabled
        $Data['signature_age_days'] = $status.AntivirusSignatureAge
        if ($null -ne $status.AMRunningMode) { $Data['am_running_mode'] = [string]$status.AMRunningMode }
    }
    catch {
        $Data['real_time_protection'] = $null
    }
}

function Invoke-AvProducts {
    param($Op, $Data)
    $Data['available'] = $false
    $Data['reason'] = $null
    $products = New-Object System.Collections.Generic.List[object]
    $Data['products'] = $products
    $items = $null
    try {
        if ($null -ne (Get-Command -Name 'Get-CimInstance' -ErrorAction SilentlyContinue)) {
            $items = @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName 'AntiVirusProduct')
        }
        else {
            $items = @(Get-WmiObject -Namespace 'root\SecurityCenter2' -Class 'AntiVirusProduct')
        }
    }
    catch {
        $Data['reason'] = 'root\SecurityCenter2 is not available (only client editions of Windows have it): ' +
            [string]$_.Exception.Message
        return
    }
    $Data['available'] = $true
    foreach ($item in $items) {
        $state = $null
        if ($null -ne $item.productState) { $state = [long]$item.productState }
        $products.Add([ordered]@{
                name          = $item.displayName
                product_state = $state
                path          = $item.pathToSignedProductExe
                timestamp     = $item.timestamp
            })
    }
}

# Win32_QuickFixEngineering.InstalledOn: M/d/yyyy text, sometimes a hex
# FILETIME, often empty.
function ConvertFrom-HotfixDate {
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime]) { return $Value.Date }
    $text = ([string]$Value).Trim()
    if ($text -cmatch '^[0-9A-Fa-f]{15,16}$') { return [datetime]::FromFileTimeUtc([System.Convert]::ToInt64($text, 16)).Date }
    $parsed = [datetime]::MinValue
    $formats = [string[]]@('M/d/yyyy', 'yyyyMMdd', 'yyyy-MM-dd')
    if ([datetime]::TryParseExact($text, $formats, $Invariant, [System.Globalization.DateTimeStyles]::None, [ref]$parsed)) {
        return $parsed.Date
    }
    return $null
}

function Invoke-HotfixLatest {
    param($Op, $Data)
    $count = 0
    $undated = 0
    $newest = $null
    $newestDate = $null
    foreach ($fix in (Get-ManagementInstances 'Win32_QuickFixEngineering' '')['Items']) {
        $count++
        # Get-CimInstance gives InstalledOn as a DateTime; Get-WmiObject as text.
        $date = ConvertFrom-HotfixDate $fix.InstalledOn
        if ($null -eq $date) {
            $undated++
            continue
        }
        if ($null -eq $newestDate -or $date -gt $newestDate) {
            $newestDate = $date
            $newest = [ordered]@{ id = $fix.HotFixID; description = $fix.Description
                installed_on = $date.ToString('yyyy-MM-dd', $Invariant)
            }
        }
    }
    $Data['count'] = $count
    $Data['undated'] = $undated
    $Data['age_days'] = $null
    if ($null -ne $newestDate) { $Data['age_days'] = [int][math]::Floor(((Get-Date).Date - $newestDate).TotalDays) }
    $Data['newest'] = $newest
}

# ---------------------------------------------------------------------------
# Batch driver.
# ---------------------------------------------------------------------------

# A 32-bit PowerShell on 64-bit Windows (the psrp configuration
# Microsoft.PowerShell32, a 32-bit powershell.exe) sees the file system
# through the WOW64 file system redirector: %WINDIR%\System32, and with it the
# SYSTEM profile, is %WINDIR%\SysWOW64 there, and %ProgramFiles% is
# "Program Files (x86)" (Microsoft, "File System Redirector"). Its registry
# access is unaffected: every key is opened with an explicit view.
$Wow64Process = [System.Environment]::Is64BitOperatingSystem -and -not [System.Environment]::Is64BitProcess
$FileSystemOps = @('path_stat', 'dir_ensure', 'dir_remove', 'file_list', 'file_remove', 'file_find', 'temp_dir',
    'file_compress', 'image_files', 'folder_probe')
$Wow64Refusal = 'the agent runs in a 32-bit PowerShell on 64-bit Windows (such as the psrp configuration ' +
'Microsoft.PowerShell32): the file system redirector would show it %WINDIR%\SysWOW64 for %WINDIR%\System32 ' +
'and the SYSTEM profile below it, so file operations are refused; connect to the 64-bit configuration ' +
'(Microsoft.PowerShell, the default)'

function Invoke-AgentOp {
    param([string]$Name, $Op, $Data)
    if ($Wow64Process -and $FileSystemOps -ccontains $Name) {
        throw (New-AgentException 'System.NotSupportedException' $Wow64Refusal)
    }
    switch -CaseSensitive ($Name) {
        'reg_read' { Invoke-RegRead $Op $Data }
        'reg_set' { Invoke-RegSet $Op $Data }
        'reg_delete_value' { Invoke-RegDeleteValue $Op $Data }
        'reg_create_key' { Invoke-RegCreateKey $Op $Data }
        'reg_delete_key' { Invoke-RegDeleteKey $Op $Data }
        'path_stat' { Invoke-PathStat $Op $Data }
        'dir_ensure' { Invoke-DirEnsure $Op $Data }
        'dir_remove' { Invoke-DirRemove $Op $Data }
        'file_list' { Invoke-FileList $Op $Data }
        'file_remove' { Invoke-FileRemove $Op $Data }
        'os_facts' { Invoke-OsFacts $Op $Data }
        'service_state' { Invoke-ServiceState $Op $Data }
        'service_restart' { Invoke-ServiceRestart $Op $Data }
        'process_list' { Invoke-ProcessList $Op $Data }
        'event_query' { Invoke-EventQuery $Op $Data }
        'file_find' { Invoke-FileFind $Op $Data }
        'temp_dir' { Invoke-TempDir $Op $Data }
        'file_compress' { Invoke-FileCompress $Op $Data }
        'image_files' { Invoke-ImageFiles $Op $Data }
        'process_memory' { Invoke-ProcessMemory $Op $Data }
        'folder_probe' { Invoke-FolderProbe $Op $Data }
        'defender_state' { Invoke-DefenderState $Op $Data }
        'av_products' { Invoke-AvProducts $Op $Data }
        'hotfix_latest' { Invoke-HotfixLatest $Op $Data }
        default {
            throw (New-AgentException 'System.NotSupportedException' ("Unknown operation '" + $Name + "'."))
        }
    }
}

# What the error's "path" names: the registry key (with the value name for
# value operations), the file path, or for services and events the service
# name and the log.
function Get-ErrorPath {
    param($Op, [string]$Name)
    $key = Get-Field $Op 'key'
    if ($null -ne $key) {
        $text = [string]$key
        if ($Name -eq 'reg_set' -or $Name -eq 'reg_delete_value') {
            $valueName = Get-Field $Op 'name'
            if ($null -ne $valueName) {
                if ([string]$valueName -eq '') { $valueName = '(default)' }
                $text = $text.TrimEnd([char]'\') + '\' + [string]$valueName
            }
        }
        return $text
    }
    foreach ($field in @('path', 'name', 'log')) {
        $value = Get-Field $Op $field
        if ($value -is [string]) { return $value }
    }
    return $null
}

function New-ErrorInfo {
    param([string]$OpName, $Op, $ErrorRecord)
    $ex = $ErrorRecord.Exception
    # Unwrap PowerShell's wrappers so the .NET type and message are reported
    # (e.g. System.Security.SecurityException, not MethodInvocationException).
    for ($depth = 0; $depth -lt 10; $depth++) {
        if (($ex -is [System.Management.Automation.MethodInvocationException] -or
                $ex -is [System.Reflection.TargetInvocationException]) -and $null -ne $ex.InnerException) {
            $ex = $ex.InnerException
        }
        elseif ($ex -is [System.Management.Automation.ActionPreferenceStopException] -and
            $null -ne $ex.ErrorRecord -and $null -ne $ex.ErrorRecord.Exception -and
            -not [object]::ReferenceEquals($ex.ErrorRecord.Exception, $ex)) {
            $ex = $ex.ErrorRecord.Exception
        }
        else {
            break
        }
    }
    $path = $null
    try { $path = Get-ErrorPath $Op $OpName } catch { $path = $null }
    return [ordered]@{
        op      = $OpName
        path    = $path
        message = $ex.Message
        type    = $ex.GetType().FullName
        hresult = $ex.HResult
    }
}

function Invoke-Batch {
    param([string]$Json)
    $batch = $null
    try {
        $batch = ConvertFrom-Json -InputObject $Json
    }
    catch {
        return @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; error = ('malformed batch JSON: ' + $_.Exception.Message) })); Code = 1 }
    }
    if (-not ($batch -is [System.Management.Automation.PSCustomObject])) {
        return @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; error = 'malformed batch: not a JSON object' })); Code = 1 }
    }
    $version = Get-Field $batch 'version'
    if ([string]$version -ne '1') {
        return @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; error = 'unsupported batch version' })); Code = 1 }
    }
    $opsValue = Get-Field $batch 'ops'
    $stopOnError = Get-Field $batch 'stop_on_error' $true
    if (-not ($opsValue -is [System.Collections.IList]) -or -not ($stopOnError -is [bool])) {
        return @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; error = "malformed batch: 'ops' must be a list and 'stop_on_error' a boolean" })); Code = 1 }
    }

    $results = New-Object System.Collections.Generic.List[object]
    $stopped = $false
    foreach ($op in $opsValue) {
        if ($stopped) {
            $results.Add([ordered]@{ ok = $false; skipped = $true })
            continue
        }
        $opName = ''
        try {
            $nameValue = Get-Field $op 'op'
            if ($nameValue -is [string]) { $opName = $nameValue }
            $data = [ordered]@{}
            # Operations fill $data; anything they emit is discarded so stray
            # pipeline output can neither reach stdout nor change the result.
            $null = Invoke-AgentOp $opName $op $data
            $results.Add([ordered]@{ ok = $true; data = $data })
        }
        catch {
            $results.Add([ordered]@{ ok = $false; error = (New-ErrorInfo $opName $op $_) })
            if ($stopOnError) { $stopped = $true }
        }
    }
    # Serialised only once every operation has a result: never half a batch.
    return @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; results = $results })); Code = 0 }
}

$outcome = $null
try {
    # Last object only: a stray output line would otherwise turn it into an array.
    $outputs = @(Invoke-Batch $BatchJson)
    $outcome = $outputs[$outputs.Count - 1]
}
catch {
    $message = 'agent failure: ' + [string]$_.Exception.Message
    $outcome = @{ Line = (ConvertTo-JsonLine ([ordered]@{ version = 1; error = $message })); Code = 1 }
}
# The one line of pipeline output, not the console: over psrp the script
# runs in the remote runspace, where only the pipeline (and the host UI)
# reach the controller; powershell.exe prints it on its standard output.
$outcome['Line']
exit $outcome['Code']
