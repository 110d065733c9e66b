# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.analyze_dump: crash analysis of minidumps, on the controller."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.errors import MinidumpError

MAX_FRAMES = 1000
SUFFIX = ".dmp"


def dump_files(path, recurse):
    """The dumps under a folder (``*.dmp`` in any case), sorted; a file is itself."""
    if not os.path.isdir(path):
        return [path]
    found = []
    for folder, subfolders, files in os.walk(path):
        subfolders.sort()
        found += [os.path.join(folder, f) for f in sorted(files) if f.lower().endswith(SUFFIX)]
        if not recurse:
            break
    return found


def analyze_one(path, max_frames, modules):
    """One entry of the ``dumps`` result: the analysis, or the reason there is none."""
    try:
        analysis = analyze_file(path, max_frames=max_frames)
    except MinidumpError as e:
        return {"path": path, "ok": False, "error": str(e)}
    except OSError as e:
        return {"path": path, "ok": False, "error": "%s: cannot read: %s" % (path, e.strerror or e)}
    except Exception as e:  # pylint: disable=broad-exception-caught
        # A bug, not the dump's fault: keep the other dumps' results and say so.
        return {"path": path, "ok": False,
                "error": "%s: analysis failed (a crashdump.windows bug, please report it): %s: %s"
                         % (path, type(e).__name__, e)}
    if not modules:
        analysis["modules"] = []
        analysis["unloaded_modules"] = []
    return {"path": path, "ok": True, "analysis": analysis}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    argument_spec = dict(
        path=dict(type="path", required=True),
        recurse=dict(type="bool", default=False),
        max_frames=dict(type="int", default=64),
        modules=dict(type="bool", default=True),
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(self.argument_spec)[1]
        if not 1 <= args["max_frames"] <= MAX_FRAMES:
            raise AnsibleActionFail("max_frames must be between 1 and %d, got %d" % (MAX_FRAMES, args["max_frames"]))
        path = self._loader.path_dwim(args["path"])
        if not os.path.exists(path):
            raise AnsibleActionFail("path %s does not exist on the controller" % path)
        dumps = [analyze_one(p, args["max_frames"], args["modules"]) for p in dump_files(path, args["recurse"])]
        errors = [d for d in dumps if not d["ok"]]
        if errors:
            result.setdefault("warnings", []).append(
                "%d of %d dumps could not be analyzed; dumps[].error says why" % (len(errors), len(dumps)))
        result.update(changed=False, dumps=dumps, analyzed=len(dumps) - len(errors), errors=len(errors))
        return result
