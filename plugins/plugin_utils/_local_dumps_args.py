# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of WER LocalDumps for one image: their spec and their checks, before anything is sent.

Shared by the local_dumps module and the role-level dump_capture module.
"""

from __future__ import annotations

import re

from . import _wer, _winpath
from ._base import ModuleFailure
from ._image import image_refusal
from ._registry import fold

# Lets every crashing account create its dump while only SYSTEM and
# Administrators can read dumps of others: Authenticated Users may list the
# folder and add files to it (not read them); CREATOR OWNER gets full control
# of the file it created. Protected, so broad parent ACLs are not inherited.
DEFAULT_FOLDER_SDDL = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"

SPEC = dict(
    exe=dict(type="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    dump_folder=dict(type="str"),
    dump_count=dict(type="int"),
    dump_type=dict(type="str", choices=["custom", "mini", "full", "0", "1", "2"]),
    custom_dump_flags=dict(type="raw"),
    # Text choices, as in the enable role's spec: ansible-core 2.16 cannot word a bad integer choice in a list.
    registry_views=dict(type="list", elements="str", choices=["64", "32"]),
    create_folder=dict(type="bool"),
    folder_acl=dict(type="str", default=DEFAULT_FOLDER_SDDL),
    limit_to_image=dict(type="bool", default=True),
    account=dict(type="str", default="SYSTEM"),
    allow_sensitive_image=dict(type="bool", default=False),
    allow_global_full_dump=dict(type="bool", default=False),
    unrecorded=dict(type="str", default="remove", choices=["remove", "keep"]),
    force=dict(type="bool", default=False),
)


def parse_dump_type(value):
    if value is None:
        return None
    return int(value) if value.isdigit() else _wer.DUMP_TYPES[value]


def parse_custom_flags(value):
    """MINIDUMP_TYPE names (any case) or one integer -> the mask."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ModuleFailure("custom_dump_flags must be a list of MINIDUMP_TYPE names or an integer")
    if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"(0x[0-9a-fA-F]+|[0-9]+)", value)):
        mask = int(value, 0) if isinstance(value, str) else value
        if not 0 <= mask <= 0xFFFFFFFF or mask & ~_wer.MINIDUMP_TYPE_MASK:
            raise ModuleFailure("custom_dump_flags 0x%x has bits that are not MINIDUMP_TYPE flags" % mask)
        return mask
    names = value if isinstance(value, list) else [value]
    known = {fold(k): v for k, v in _wer.MINIDUMP_TYPE.items()}
    mask = 0
    for name in names:
        flag = known.get(fold(str(name)).removeprefix("minidump"))
        if flag is None:
            raise ModuleFailure("unknown MINIDUMP_TYPE name %r; valid names: %s" % (
                name, ", ".join(_wer.MINIDUMP_TYPE)))
        mask |= flag
    return mask


def validate(args):
    """Check the options (a dict as SPEC gives it) and normalise them in place; raise ModuleFailure."""
    exe = args["exe"]
    refusal = exe is not None and image_refusal(
        "exe", exe, args["allow_sensitive_image"], "dumping it exposes credentials and is what attackers do")
    if refusal:
        raise ModuleFailure(refusal)
    values = ("dump_folder", "dump_count", "dump_type", "custom_dump_flags", "create_folder")
    if args["force"] and args["state"] != "absent":
        raise ModuleFailure("force only applies with state=absent")
    if args["state"] == "absent":
        given = [v for v in values if args[v] is not None]
        if given:
            raise ModuleFailure("%s only apply with state=present" % ", ".join(given))
        return
    if args["registry_views"] == []:
        raise ModuleFailure("registry_views must name at least one view (64, 32)")
    if args["registry_views"] is not None:
        args["registry_views"] = [int(v) for v in args["registry_views"]]
    if args["dump_count"] is not None and not 0 <= args["dump_count"] <= 1000:
        raise ModuleFailure("dump_count must be between 0 and 1000, got %d" % args["dump_count"])
    args["dump_type"] = parse_dump_type(args["dump_type"])
    args["custom_dump_flags"] = parse_custom_flags(args["custom_dump_flags"])
    if args["custom_dump_flags"] is not None and args["dump_type"] != 0:
        raise ModuleFailure("custom_dump_flags is only used with dump_type=custom")
    if exe is None and args["dump_type"] == 2 and not args["allow_global_full_dump"]:
        raise ModuleFailure(
            "a global DumpType of full makes every crashing process on the host write a full dump "
            "(memory with secrets, disk space); set allow_global_full_dump=true to do it anyway")
    folder = args["dump_folder"]
    if folder is not None:
        problem = _winpath.path_problem(folder, variables=True)
        if problem:
            raise ModuleFailure("dump_folder %r %s (give an absolute path such as C:\\WER, a UNC path or one "
                                "starting with an environment variable)" % (folder, problem))
        has_vars = bool(_wer.variables(folder))
        if args["create_folder"] and has_vars:
            raise ModuleFailure("create_folder needs a literal path; %r depends on environment variables"
                                % folder)
        if args["create_folder"] and folder.startswith("\\\\"):
            raise ModuleFailure("create_folder is for local folders; create %s on the share yourself, writable by "
                                "every account whose process may crash" % folder)
        if args["create_folder"] is None:
            args["create_folder"] = not has_vars and not folder.startswith("\\\\")
    if args["create_folder"] and folder is None:
        raise ModuleFailure("create_folder needs dump_folder")
