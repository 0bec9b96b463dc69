"""hatchling build hook: compile the optional C extension ``squall._http1._speedups``.

- A regular wheel gets the compiled module at
  ``squall/_http1/_speedups<EXT_SUFFIX>`` and a platform tag.
- An editable install compiles it in place, beside its source under
  ``src/squall/_http1/``, where the editable package imports it from.
- With ``SQUALL_NO_EXTENSIONS`` set (not "" or "0"), no C compiler, or a
  failed compilation, the hook prints a warning and the build goes on pure
  Python (a ``py3-none-any`` wheel): the pure-Python code is the reference
  and does everything the extension does.

How to compile is in speedups_build.py beside this file (shared with
tools/build_ext.py).
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import sys
import tempfile
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _load_helper(project: pathlib.Path) -> ModuleType:
    path = project / "speedups_build.py"
    spec = importlib.util.spec_from_file_location("_squall_speedups_build", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _warn(message: str) -> None:
    # stderr, so pip shows it with the build's output; one line to grep for.
    print(f"WARNING: squall-httpcore: {message}", file=sys.stderr, flush=True)


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        helper = _load_helper(pathlib.Path(self.root))
        self._workdir: str | None = None
        if version == "editable":
            target = helper.in_place_target(pathlib.Path(self.root))
        else:
            self._workdir = tempfile.mkdtemp(prefix="squall-httpcore-build-")
            target = pathlib.Path(self._workdir) / pathlib.PurePath(helper.wheel_path()).name
        if helper.disabled():
            _warn(
                f"{helper.DISABLE_VARIABLE} is set: the C extension squall._http1._speedups "
                "is not built; the pure-Python code will be used"
            )
            self._drop_stale(version, target)
            return
        source = pathlib.Path(self.root) / helper.SOURCE
        try:
            output = helper.compile_extension(source, target)
        except helper.CompileError as exc:
            _warn(
                f"building the C extension squall._http1._speedups failed; the pure-Python "
                f"code will be used.\n{exc}"
            )
            self._drop_stale(version, target)
            return
        if output:
            print(output, file=sys.stderr, flush=True)
        if version != "editable":
            build_data["force_include"][str(target)] = helper.wheel_path()
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    @staticmethod
    def _drop_stale(version: str, target: pathlib.Path) -> None:
        # An editable install without the extension must not go on importing
        # a module compiled from an older source.
        if version == "editable":
            target.unlink(missing_ok=True)
