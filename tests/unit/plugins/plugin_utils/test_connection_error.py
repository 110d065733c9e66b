"""A connection failure under a module names its cause, and a lost batch says what to do."""

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.crashdump.windows.plugins.plugin_utils._connection_error import batch_interrupted, describe


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
