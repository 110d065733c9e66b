# crashdump.windows bootstrap: fixed text, sent as -EncodedCommand.
# Input lines: the agent script (base64 of its gzip, one line), the separator
# line, then one line of batch JSON. The JSON is passed to the agent as an
# argument, never parsed as code.
$ErrorActionPreference = 'Stop'
# Progress records (module loading, cmdlets with progress bars) would reach the
# caller as #< CLIXML on standard error; ansible-core's own bootstrap silences
# them the same way.
$ProgressPreference = 'SilentlyContinue'
# An application control policy (WDAC, AppLocker) holds PowerShell in
# ConstrainedLanguage mode, where the agent cannot work (.NET types, registry
# views). Say so in one line before anything that mode forbids runs.
$mode = [string]$ExecutionContext.SessionState.LanguageMode
if ($mode -ne 'FullLanguage') {
    '{"version":1,"error":"bootstrap: PowerShell runs in ' + $mode + ' mode (an application control policy such as WDAC or AppLocker is enforced); the crashdump.windows agent needs FullLanguage and cannot run on this host"}'
    exit 1
}
$sep = '#crashdump.windows:batch#'
$packed = $null
$batchJson = $null
$found = $false
# $input can be enumerated only once: one pass, which stops after the JSON
# line so an input stream left open cannot block the bootstrap.
foreach ($line in $input) {
    $text = ([string]$line).TrimEnd("`r")
    if ($found) {
        $batchJson = $text
        break
    }
    elseif ($text -ceq $sep) {
        $found = $true
    }
    elseif ($null -eq $packed) {
        $packed = $text
    }
}
if (-not $found) {
    '{"version":1,"error":"bootstrap: batch separator line not found in input"}'
    exit 1
}
try {
    $raw = New-Object System.IO.MemoryStream(, [Convert]::FromBase64String($packed))
    $gzip = New-Object System.IO.Compression.GZipStream($raw, [System.IO.Compression.CompressionMode]::Decompress)
    $reader = New-Object System.IO.StreamReader($gzip, [System.Text.Encoding]::ASCII)
    $agentText = $reader.ReadToEnd()
    $reader.Dispose()
}
catch {
    '{"version":1,"error":"bootstrap: the agent script could not be unpacked"}'
    exit 1
}
try {
    $agent = [ScriptBlock]::Create($agentText)
}
catch {
    '{"version":1,"error":"bootstrap: the agent script does not parse"}'
    exit 1
}
& $agent $batchJson
