"""The module base's own wording of a bad choice in a list of integers (ansible-core 2.16 cannot word it)."""

from ansible_collections.crashdump.windows.plugins.plugin_utils._base import list_choice_problem

SPEC = {"registry_views": {"type": "list", "elements": "int", "choices": [64, 32]},
        "state": {"type": "str", "choices": ["present", "absent"]}}


def test_a_bad_element_is_named_as_ansible_core_names_it():
    assert list_choice_problem(SPEC, {"registry_views": [64, 16, "x"]}) == (
        "value of registry_views must be one or more of: 64, 32. Got no match for: 16, x")


def test_good_elements_as_numbers_or_text_are_no_problem():
    assert list_choice_problem(SPEC, {"registry_views": [64, "32"], "state": "gone"}) is None
    assert list_choice_problem(SPEC, {}) is None
