# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.analyze_dump: crash analysis of minidumps, on the controller."""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.errors import MinidumpError
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.report import render
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbol_path import SymbolPath, SymbolPathError
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbols import Symbolizer

MAX_FRAMES = 1000
SUFFIX = ".dmp"
REPORT_SUFFIX = ".analysis.txt"


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


def symbolizer(symbol_path, timeout, max_bytes):
    """The Symbolizer of ``symbol_path`` (else ``_NT_SYMBOL_PATH``), or None without either.
    Raises SymbolPathError (a bad path, symbolic missing)."""
    text = symbol_path if symbol_path is not None else os.environ.get("_NT_SYMBOL_PATH", "")
    if not text.strip():
        return None
    return Symbolizer(SymbolPath(text, timeout=timeout, max_bytes=max_bytes))


def write_report(path, text, check_mode):
    """Write ``text`` to ``path`` owner-only (atomically, as the dumps are written) unless it holds it
    already; whether it changed (would change, in check mode)."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text and os.stat(path).st_mode & 0o777 == 0o600:
                return False
    except (OSError, UnicodeDecodeError):
        pass
    if check_mode:
        return True
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".analysis-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def analyze_one(path, max_frames, modules, symbols=None, report=None):
    """One entry of the ``dumps`` result: the analysis, or the reason there is none.
    ``report(path, analysis)``, when given, writes the text report before the module lists are dropped."""
    try:
        analysis = analyze_file(path, max_frames=max_frames, symbolizer=symbols)
    except (MinidumpError, SymbolPathError) as e:
        return {"path": path, "ok": False, "error": str(e)}
    except OSError as e:
        return {"path": path, "ok": False, "error": "%s: cannot read: %s" % (path, e.strerror or e)}
    except Exception as e:  # pylint: disable=broad-exception-caught
        # A bug, not the dump's fault: keep the other dumps' results and say so.
        return {"path": path, "ok": False,
                "error": "%s: analysis failed (a crashdump.windows bug, please report it): %s: %s"
                         % (path, type(e).__name__, e)}
    entry = {"path": path, "ok": True, "analysis": analysis}
    if report is not None:
        entry.update(report(path, analysis))
    if not modules:
        analysis["modules"] = []
        analysis["unloaded_modules"] = []
    return entry


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
        symbol_path=dict(type="str"),
        symbol_timeout=dict(type="int", default=30),
        symbol_max_mb=dict(type="int", default=512),
        report=dict(type="bool", default=False),
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
        if args["symbol_timeout"] < 1 or args["symbol_max_mb"] < 1:
            raise AnsibleActionFail("symbol_timeout and symbol_max_mb must be at least 1")
        try:
            symbols = symbolizer(args["symbol_path"], args["symbol_timeout"], args["symbol_max_mb"] << 20)
        except SymbolPathError as e:
            raise AnsibleActionFail(str(e)) from None
        self._reports_changed = 0
        report = self._report if args["report"] else None
        dumps = [analyze_one(p, args["max_frames"], args["modules"], symbols, report)
                 for p in dump_files(path, args["recurse"])]
        errors = [d for d in dumps if not d["ok"]]
        if errors:
            result.setdefault("warnings", []).append(
                "%d of %d dumps could not be analyzed; dumps[].error says why" % (len(errors), len(dumps)))
        failed = [d for d in dumps if "report_error" in d]
        if failed:
            result.setdefault("warnings", []).append(
                "%d reports could not be written; dumps[].report_error says why" % len(failed))
        result.update(changed=self._reports_changed > 0, dumps=dumps, analyzed=len(dumps) - len(errors),
                      errors=len(errors))
        return result

    def _report(self, path, analysis):
        """The ``report`` fields of a dump's entry, writing DUMP.analysis.txt beside it."""
        target = path + REPORT_SUFFIX
        try:
            changed = write_report(target, render(analysis), self._task.check_mode)
        except OSError as e:
            return {"report_error": "cannot write %s: %s" % (target, e.strerror or e)}
        self._reports_changed += changed
        return {"report": target}
