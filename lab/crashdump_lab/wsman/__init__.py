"""WS-Management endpoints for lab hosts, reached by ansible-core's own
``ansible.builtin.winrm`` connection (pywinrm) over HTTP.

One concept per module:

* ``soap``    -- envelopes, WS-Management headers and Windows' SOAP faults ([MS-WSMV]).
* ``auth``    -- HTTP authentication (NTLM through pyspnego, Basic when allowed)
                 and WinRM message encryption (multipart/encrypted).
* ``shell``   -- the WinRS shell resource: Create, Command, Send, Receive, Signal, Delete.
* ``runner``  -- what a command does inside the host: the collection's bootstrap
                 goes to the lab's agent model, ansible-core's file transfer
                 scripts to its file model, anything else is refused.
* ``server``  -- the HTTP listener of one host, and serving many.

PSRP (the runspace pool resource of the same endpoint) is meant to sit beside
``shell`` as another resource URI sharing ``soap``, ``auth`` and ``server``.
"""
