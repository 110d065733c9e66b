# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Say what broke when a connection fails under a module.

ansible.builtin.winrm and psrp let their libraries' errors (requests,
pywinrm, pypsrp) through as they are, or wrap them in an AnsibleError whose
message drops the cause (winrm's fetch_file: 'failed to transfer file to
...'). The cause is what tells a reset from an HTTP 500 from a timeout.
"""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure, AnsibleError


def describe(error):
    """``error``'s message, with the first cause behind it that says something else."""
    text = str(error) or type(error).__name__
    seen = {id(error)}
    cause = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        said = str(cause)
        if said and said not in text:
            return "%s (%s: %s)" % (text, type(cause).__name__, said)
        cause = cause.__cause__ or cause.__context__
    return text


def batch_interrupted(ops, error):
    """The AnsibleConnectionFailure for a batch of ``ops`` whose execution or reply the connection lost."""
    names = ", ".join(sorted({str(op.get("op")) for op in ops}))
    return AnsibleConnectionFailure(
        "the connection failed during a batch of %d agent operation(s) (%s): %s%s. The host may have run the batch: "
        "run the task again, it reads the host first and converges" % (
            len(ops), names, "" if isinstance(error, AnsibleConnectionFailure) else type(error).__name__ + ": ",
            describe(error)))


def fetch_file(connection, remote, local):
    """``connection.fetch_file``, with an error of its library (psrp lets pypsrp's and requests' through) as an
    AnsibleError naming it; the controller's own OSError (a full disk) passes as it is."""
    try:
        connection.fetch_file(remote, local)
    except AnsibleError:
        raise
    except Exception as e:  # pylint: disable=broad-exception-caught  # whatever the library raises
        if isinstance(e, OSError) and e.errno is not None:
            raise
        raise AnsibleError("%s: %s" % (type(e).__name__, describe(e))) from e
