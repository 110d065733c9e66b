"""A connection failure under a module names its cause, and a lost batch says what to do."""

import errno

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.crashdump.windows.plugins.plugin_utils._connection_error import (
    batch_interrupted,
    describe,
    fetch_file,
)


def wrapped(outer, inner):
    """``outer`` raised while handling ``inner``, as winrm's fetch_file does."""
    try:
        try:
            raise inner
        except Exception:
            raise outer  # noqa: B904 - implicit chaining (__context__), as winrm.py does
    except Exception as e:
        return e


def test_the_cause_behind_a_bare_message_is_named():
    e = wrapped(AnsibleError('failed to transfer file to "x.part"'), ConnectionError("Connection aborted."))
    assert describe(e) == 'failed to transfer file to "x.part" (ConnectionError: Connection aborted.)'


def test_a_cause_already_in_the_message_is_not_repeated():
    e = wrapped(AnsibleError("boom: Connection aborted."), ConnectionError("Connection aborted."))
    assert describe(e) == "boom: Connection aborted."
    assert describe(ValueError("plain")) == "plain"


def test_a_lost_batch_is_a_connection_failure_naming_its_operations():
    failure = batch_interrupted([{"op": "reg_set"}, {"op": "reg_create_key"}, {"op": "reg_set"}], OSError("reset"))
    assert isinstance(failure, AnsibleConnectionFailure)
    assert str(failure).startswith("the connection failed during a batch of 3 agent operation(s) "
                                   "(reg_create_key, reg_set): OSError: reset. The host may have run the batch")
    assert "OSError" not in str(batch_interrupted([], AnsibleConnectionFailure("gone")))


class Failing:
    """A connection whose fetch_file raises ``error``."""

    def __init__(self, error):
        self.error = error

    def fetch_file(self, remote, local):
        raise self.error


class WSManFaultError(Exception):
    """pypsrp's, by name: the collection does not import pypsrp."""


def test_a_library_error_of_fetch_file_becomes_an_ansible_error_naming_it():
    with pytest.raises(AnsibleError) as caught:
        fetch_file(Failing(WSManFaultError("Received a WSManFault message. (Code: 2150858843)")), "r", "l")
    assert str(caught.value) == "WSManFaultError: Received a WSManFault message. (Code: 2150858843)"
    # requests' ConnectionError is an OSError without an errno, made from urllib3's ProtocolError.
    with pytest.raises(AnsibleError, match=r"^ConnectionError: \('Connection aborted.'"):
        fetch_file(Failing(ConnectionError(Exception("Connection aborted.", "RemoteDisconnected"))), "r", "l")


def test_fetch_file_lets_ansible_errors_and_a_full_disk_through():
    gone = AnsibleConnectionFailure("gone")
    with pytest.raises(AnsibleConnectionFailure) as caught:
        fetch_file(Failing(gone), "r", "l")
    assert caught.value is gone
    full = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError) as caught:
        fetch_file(Failing(full), "r", "l")
    assert caught.value is full
