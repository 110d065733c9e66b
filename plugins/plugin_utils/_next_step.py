# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to do about a family of crashes: one sentence, the suspect, and the exact playbook command to run."""

from __future__ import annotations

import shlex

from ._image import image_problem, is_sensitive
from ._ntstatus import NTSTATUS

HEAP_CORRUPTION = 0xC0000374
STACK_BUFFER_OVERRUN = 0xC0000409
FAIL_FAST = 0xC0000602
ACCESS_VIOLATION = 0xC0000005
STACK_OVERFLOW = 0xC00000FD
DOTNET = frozenset([0xE0434352, 0xC000041D])
CPP = 0xE06D7363
LOADER = frozenset([0xC0000135, 0xC0000142, 0xC06D007E, 0xC06D007F])
# Noticed, not caused, in a victim module: the bug is wherever the heap or the
# stack was damaged before, which page heap stops at (windows-facts.md, GFlags).
NOTICED = frozenset([HEAP_CORRUPTION, STACK_BUFFER_OVERRUN, FAIL_FAST])
UNKNOWN_SUSPECT = "unknown until page heap"
ENABLE = "ansible-playbook playbooks/enable_crash_dumps.yml"
HARVEST = "ansible-playbook playbooks/harvest_crash_dumps.yml"


def _code(group):
    return int(group["exception_code"], 16) if group["exception_code"] else None


def needs_page_heap(group):
    """Heap corruption or fail-fast in ntdll/kernel32/KernelBase, or an address in no module."""
    return group["kind"] == "crash" and (group["stack_hash"] or (group["victim"] and _code(group) in NOTICED)
                                         or (group["victim"] and _code(group) == ACCESS_VIOLATION))


def suspect(group):
    """The module to blame, or UNKNOWN_SUSPECT when the faulting module only noticed the damage."""
    if group["kind"] == "hang":
        return None
    if needs_page_heap(group):
        return UNKNOWN_SUSPECT
    return group["module"]


def command(group):
    """The enable command for this family's image on its hosts (page heap only where it finds the culprit).

    None for hangs (LocalDumps writes no dump of a hang), loader failures (the
    process dies before its code runs) and images the enable role refuses.
    """
    image = group["image"]
    if group["kind"] == "hang" or _code(group) in LOADER or not image:
        return None
    if image_problem(image) or is_sensitive(image):
        return None
    args = [ENABLE, "-e", shlex.quote("exe=" + image)]
    if not needs_page_heap(group):
        args += ["-e", "page_heap=false"]
    if group["hosts"]:
        args += ["-e", shlex.quote("crashdump_hosts=" + ",".join(group["hosts"]))]
    return " ".join(args)


def advice(group):
    """What to do about a group of crashes, in one sentence, without the commands."""
    image = group["image"] or group["app_name"] or "the application"
    module = group["module"] or "an unknown module"
    code = _code(group)
    name = NTSTATUS.get(code, group["exception_name"] or "a crash")
    if group["kind"] == "hang":
        return ("%s stopped responding (Application Hang): take a full dump while it hangs (LocalDumps writes none "
                "for a hang) and look at what its threads wait on" % image)
    if group["stack_hash"]:
        return ("the faulting address was in no loaded module (StackHash): code ran from freed, unloaded or "
                "overwritten memory; enable page heap for %s and collect a full dump" % image)
    if group["module_unloaded"]:
        return ("%s was called after it was unloaded: collect a full dump of %s to see who still calls it"
                % (module.rsplit("_unloaded", 1)[0], image))
    if code == HEAP_CORRUPTION:
        return ("heap corruption blamed on %s: enable page heap for %s to stop at the corrupting write; the "
                "culprit is %s" % (module, image, suspect(group)))
    if code == STACK_BUFFER_OVERRUN:
        reason = " (%s)" % ", ".join(group["fail_fast"]) if group["fail_fast"] else ""
        return ("stack buffer overrun or fail-fast%s in %s: collect a full dump of %s; a /GS failure means a "
                "stack buffer was overrun earlier in the same function" % (reason, module, image))
    if code == FAIL_FAST:
        return "fail-fast raised in %s: collect a full dump of %s and read the stack of the failing thread" % (
            module, image)
    if code in DOTNET:
        types = ", ".join(group["dotnet_exceptions"]) or "(type not logged)"
        return ("unhandled .NET exception %s: read the stack in Event 1026 and collect a full dump of %s"
                % (types, image))
    if code == CPP:
        return "unhandled C++ exception: collect a full dump of %s; the throw site is on the stack above %s" % (
            image, module)
    if code in LOADER:
        return ("%s: a DLL that %s needs is missing or failed to initialise; check its installation and "
                "dependencies" % (name, image))
    if code == STACK_OVERFLOW:
        return "stack overflow in %s: collect a full dump of %s and look for unbounded recursion" % (module, image)
    if group["victim"]:
        return ("%s blamed on %s, which is usually the victim of corruption done elsewhere: enable page heap for %s "
                "and collect a full dump" % (name, module, image))
    if code == ACCESS_VIOLATION:
        return "access violation in %s at %s: collect a full dump of %s and open it with symbols for %s" % (
            module, group["offset"] or "?", image, module)
    return "%s in %s: collect a full dump of %s" % (name, module, image)


def harvest_command(group):
    """The command that fetches the dumps once the enable command has run and the image crashed again."""
    if command(group) is None:
        return None
    return "%s -e %s" % (HARVEST, shlex.quote("exe=" + group["image"]))


def next_step(group):
    """The advice ending with the commands to run, if they apply."""
    run = command(group)
    if run is None:
        return advice(group)
    return "%s. Run: %s; after the next crash: %s" % (advice(group), run, harvest_command(group))
