# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of an image's GlobalFlag and page heap: its options, what to read, what to change, what to report.

Shared by the gflags module and the role-level dump_capture module; see _plan for how plans compose.
"""

from __future__ import annotations

from . import _gflags
from ._base import ModuleFailure
from ._image import image_refusal
from ._plan import Plan
from ._registry import fold, format_keys, read_op, same_value
from ._undo import UNCHECKED_WARNING, ChangeSet, drift_warning, journal_read_ops

RECORD_PREFIX = "gflags/"
# IFEO is shared between the WOW64 views since Windows 7: native view only.
VIEW = 64
_NOT_REMEMBERED = object()

SPEC = dict(
    image=dict(type="str", required=True),
    flags=dict(type="list", elements="raw", default=[]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    page_heap=dict(type="str", choices=list(_gflags.PAGE_HEAP_MODES)),
    allow_sensitive_image=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
)


def _mask(value):
    """GlobalFlag as a mask; an absent value means no flags."""
    return _gflags.parse_number(value) or 0


def validate(args):
    """Check the options (a dict as SPEC gives it), adding ``mask``; raise ModuleFailure."""
    refusal = image_refusal("image", args["image"], args["allow_sensitive_image"],
                            "IFEO flags on it are a persistence technique and can make the system unbootable")
    if refusal:
        raise ModuleFailure(refusal)
    try:
        args["mask"] = _gflags.flags_mask(args["flags"])
    except _gflags.FlagError as e:
        raise ModuleFailure("flags: %s" % e) from None
    if args["force"] and args["state"] != "absent":
        raise ModuleFailure("force only applies with state=absent")
    if args["state"] == "absent" and args["page_heap"] is not None:
        raise ModuleFailure("page_heap only applies with state=present; page_heap=off turns page heap off")
    if args["page_heap"] is not None and args["mask"] & _gflags.HPA:
        raise ModuleFailure("hpa is what page_heap sets and clears: give page_heap, not hpa in flags")
    if args["state"] == "present" and not args["mask"] and args["page_heap"] is None:
        raise ModuleFailure("nothing to set: give flags, page_heap or both")


class GflagsPlan(Plan):
    """``action`` gives ``warn`` and ``diff_mode``."""

    def __init__(self, args, action):
        super().__init__()
        self.args = args
        self.action = action
        self.key = _gflags.image_key(args["image"])
        self.records = (RECORD_PREFIX + args["image"],)

    def reads(self):
        return journal_read_ops() + [read_op(self.key, VIEW), {"op": "process_list", "names": [self.args["image"]]}]

    def plan(self, datas, snap, journal):
        args, key = self.args, self.key
        self.snap = snap
        self.processes = datas[-1].get("processes") or []
        record = journal.record(self.records[0])
        self.before = _reading(snap, key)
        cs = ChangeSet(snap, record, _gflags.IFEO_KEY, merge=_gflags.undo_bits)
        restored = False
        if args["state"] == "present":
            self._plan_present(cs, key, args, self.before)
        else:
            restored = self._plan_absent(cs, key, args, self.before, journal)
        keeps_record = journal.has(record.name)
        if restored:
            # What was ours is undone; what others changed since is theirs.
            journal.forget(record.name)
            keeps_record = False
        elif keeps_record or cs.ops:
            keeps_record = self._finish(cs, journal)
        self.cs, self.keeps_record = cs, keeps_record
        self.ops = cs.ops

    def _plan_present(self, cs, key, args, before):
        mask = before["mask"] | args["mask"]
        if args["page_heap"] == "off":
            mask &= ~_gflags.HPA
        elif args["page_heap"] is not None:
            mask |= _gflags.HPA
        _set_number(cs, key, _gflags.GLOBAL_FLAG, mask, _mask, _gflags.format_global_flag)
        if args["page_heap"] == "off":
            # As gflags /p /disable: page heap settings go with the flag.
            _set_number(cs, key, _gflags.PAGE_HEAP_FLAGS, None, _gflags.parse_number, _gflags.format_page_heap_flags)
        elif args["page_heap"] is not None:
            flags = _gflags.page_heap_flags_for(args["page_heap"], before["page_heap_flags"])
            _set_number(cs, key, _gflags.PAGE_HEAP_FLAGS, flags, _gflags.parse_number,
                        _gflags.format_page_heap_flags)

    def _plan_absent(self, cs, key, args, before, journal):
        """Plan state=absent; True when it is the undo of the whole record."""
        mask = before["mask"] & ~args["mask"]
        entry = cs.record.entry(key, VIEW, _gflags.GLOBAL_FLAG)
        undone = _NOT_REMEMBERED if entry is None else \
            cs.undo_target(entry, before["values"][_gflags.GLOBAL_FLAG], args["force"])[0]
        if journal.has(cs.record.name) and (
                not args["mask"] or (undone is not _NOT_REMEMBERED and _number_or_error(_mask, undone) == mask)):
            # The flags asked to go are exactly ours: undo everything we did,
            # PageHeapFlags included, keeping what others changed since.
            cs.restore(args["force"])
            return True
        if args["mask"]:
            # Clearing is no change of ours to undo: it adds no prior to the record.
            _set_number(cs, key, _gflags.GLOBAL_FLAG, mask, _mask, _gflags.format_global_flag, remember=False)
        else:
            self.action.warn("no record of changes by crashdump.windows.gflags for %s: nothing to undo (give flags to "
                             "clear bits set by other means)" % args["image"])

    def _finish(self, cs, journal):
        """Forget the record once every value it remembers is back to its prior, else save it.

        Returns whether a record remains on the host.
        """
        record = cs.record
        if all(same_value(_value(cs.snapshot, v["key"], v["name"]), v["prior"]) for v in record.values):
            # Also deletes the image key if we created it and it is empty now.
            cs.restore()
            journal.forget(record.name)
            return False
        if cs.ops:
            journal.save(record)
        return True

    # -- reporting ----------------------------------------------------------

    def report(self, results):
        snap, key, cs, before = self.snap, self.key, self.cs, self.before
        after = _reading(snap, key)
        for drift in cs.drift:
            self.action.warn(drift_warning(drift))
        if cs.unchecked:
            self.action.warn(UNCHECKED_WARNING % cs.record.name)
        self._warn_environment(snap, key, self.args["image"], before, after)
        effective_change = (before["global_flag"], before["page_heap_flags"]) != \
            (after["global_flag"], after["page_heap_flags"])
        result = {
            "key": key,
            "before": _public(before),
            "after": _public(after),
            "restart_required": effective_change and bool(self.processes),
            "processes": self.processes,
            "debugger": _debugger(snap, key),
            "undo_record": self.keeps_record,
            "drift": cs.drift,
        }
        if self.action.diff_mode:
            result["diff"] = {"before": format_keys(cs.before), "after": format_keys(cs.after()),
                              "before_header": "registry before", "after_header": "registry after"}
        return result

    def _warn_environment(self, snap, key, image, before, after):
        debugger = _debugger(snap, key)
        if debugger is not None:
            self.action.warn("SECURITY: an IFEO Debugger is set for %s: Windows starts %r instead of %s every time (a "
                             "known hijacking and persistence technique). Check it is legitimate; this module leaves "
                             "it untouched." % (image, debugger, image))
        use_filter = _value(snap, key, "UseFilter")
        if use_filter and use_filter["data"] not in (0, "0", ""):
            self.action.warn("UseFilter is set for %s: processes whose path matches a FilterFullPath subkey take their "
                             "options from that subkey, so GlobalFlag here may not apply to them" % image)
        if after["page_heap"] == "full" and before["page_heap"] != "full":
            self.action.warn("full page heap multiplies the memory use of %s; on a large service it can exhaust memory"
                             % image)


def _value(snap, key, name):
    state = snap.state(key, VIEW)
    return state.value(name) if state.exists else None


def _reading(snap, key):
    """GlobalFlag and PageHeapFlags of the image as the snapshot has them now."""
    values = {}
    numbers = {}
    for name in (_gflags.GLOBAL_FLAG, _gflags.PAGE_HEAP_FLAGS):
        values[name] = _value(snap, key, name)
        try:
            numbers[name] = _gflags.parse_number(values[name])
        except ValueError as e:
            raise ModuleFailure("%s of %s cannot be read: %s. Nothing was changed; correct or remove the value by "
                                "hand." % (name, key, e), value=values[name]) from None
    mask = numbers[_gflags.GLOBAL_FLAG]
    return {
        "values": values,
        "mask": mask or 0,
        "global_flag": None if mask is None else _gflags.format_global_flag(mask),
        "page_heap_flags": numbers[_gflags.PAGE_HEAP_FLAGS],
        "page_heap": _gflags.page_heap_mode(mask, numbers[_gflags.PAGE_HEAP_FLAGS]),
    }


def _public(reading):
    return {
        "global_flag": reading["global_flag"],
        "flags": _gflags.decode(reading["mask"]),
        "page_heap": reading["page_heap"],
        "values": reading["values"],
    }


def _debugger(snap, key):
    value = _value(snap, key, "Debugger")
    return value["data"] if value and isinstance(value["data"], str) and value["data"].strip() else None


def _set_number(cs, key, name, number, as_number, formatter, remember=True):
    """Make value ``name`` hold ``number`` (None: absent), touching it only if its number differs.

    When ``number`` is what the value held before this module first changed
    it, the prior comes back exactly (type, spelling, or absence). Otherwise
    an existing REG_DWORD stays a DWORD and anything else is written as
    gflags does, REG_SZ.
    """
    current = _value(cs.snapshot, key, name)
    if as_number(current) == number:
        return
    prior = _prior(cs.record, key, name)
    if prior is not _NOT_REMEMBERED and _number_or_error(as_number, prior) == number:
        value = prior
    elif number is None:
        value = None
    else:
        value = _gflags.number_value(number, current, formatter)
    cs.set_value(key, VIEW, name, value, remember=remember)


def _prior(record, key, name):
    """What ``name`` held before this module first changed it, or _NOT_REMEMBERED."""
    return next((v["prior"] for v in record.values
                 if fold(v["key"]) == fold(key) and fold(v["name"]) == fold(name)), _NOT_REMEMBERED)


def _number_or_error(as_number, value):
    try:
        return as_number(value)
    except ValueError:
        return _NOT_REMEMBERED
