"""WS-Management endpoints for lab hosts, reached by ansible-core's own
``ansible.builtin.winrm`` (pywinrm) and ``ansible.builtin.psrp`` (pypsrp)
connections.

One concept per module:

* ``soap``    -- envelopes, WS-Management headers and Windows' SOAP faults ([MS-WSMV]).
* ``auth``    -- HTTP authentication (NTLM, raw or in SPNEGO, through pyspnego; Basic when allowed)
                 and WinRM message encryption (multipart/encrypted).
* ``shell``   -- the WinRS shell resource: Create, Command, Send, Receive, Signal, Delete.
* ``psrp``    -- the PowerShell remoting resource (runspace pools and pipelines,
                 PSRP messages made and read by psrpcore) on the same operations.
* ``runner``  -- what a command does inside the host: the collection's bootstrap
                 goes to the lab's agent model, ansible-core's file transfer
                 scripts to its file model, anything else is refused.
* ``psrp_runner`` -- the same for a PSRP pipeline's script and input objects.
* ``legacy_transfer`` -- ansible-core 2.16's own put_file and fetch_file scripts
                 (winrm and psrp), recognised by digest, run against the file model.
* ``counters`` -- what crossed the wire per host: requests, bytes, commands by kind.
* ``server``  -- the HTTP listener of one host, dispatching by resource URI, and serving many.
"""
