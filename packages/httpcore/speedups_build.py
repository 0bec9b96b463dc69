"""Compile the optional C extension ``squall._http1._speedups``.

The one place that knows how: hatch_build.py (the wheel and editable builds)
and tools/build_ext.py (the in-place build of the development environment)
both load this file by path.  Standard library only, so it runs inside any
build environment, and no setuptools: the compiler is invoked directly with
the settings of the running interpreter (``sysconfig``'s CC, CFLAGS,
CCSHARED and LDSHARED, as setuptools would), so the result is named
``_speedups<EXT_SUFFIX>`` and fits that interpreter only.

The extension is optional: ``SQUALL_NO_EXTENSIONS`` set to anything but ""
or "0" skips it, and the callers turn a :class:`CompileError` into a warning
(the builds) or a failure (the repository's check).
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sysconfig
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
#: The C source, relative to the project directory (packages/httpcore).
SOURCE = pathlib.PurePosixPath("src/squall/_http1/_speedups.c")
#: Where the module goes inside the wheel, without its suffix.
MODULE_PATH = "squall/_http1/_speedups"
#: The switch shared with the runtime (DESIGN.md, STYLE.md 11).
DISABLE_VARIABLE = "SQUALL_NO_EXTENSIONS"
#: Added after the interpreter's own flags, so they win: an optimised build
#: even from a debug interpreter, and the warnings shown.
EXTRA_CFLAGS = ("-O3", "-Wall")


class CompileError(Exception):
    """The extension could not be compiled; the message says why."""


def disabled() -> bool:
    """Whether ``SQUALL_NO_EXTENSIONS`` asks for the pure-Python code only."""
    return os.environ.get(DISABLE_VARIABLE, "") not in ("", "0")


def ext_suffix() -> str:
    """The file name suffix of an extension module of this interpreter."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if not suffix:
        raise CompileError("this interpreter has no EXT_SUFFIX: cannot name an extension")
    return str(suffix)


def in_place_target(project: pathlib.Path = HERE) -> pathlib.Path:
    """The compiled module beside its source, as editable installs import it."""
    return (project / SOURCE).with_name("_speedups" + ext_suffix())


def wheel_path() -> str:
    """The compiled module's path inside the wheel."""
    return MODULE_PATH + ext_suffix()


def _config(name: str) -> list[str]:
    value = sysconfig.get_config_var(name)
    return shlex.split(str(value)) if value else []


def commands(source: pathlib.Path, obj: pathlib.Path, target: pathlib.Path) -> list[list[str]]:
    """The compile and link commands, from this interpreter's configuration.

    ``CC``, ``CFLAGS`` and ``LDFLAGS`` from the environment are honoured as
    setuptools does: ``CC`` replaces the compiler (in the link command too),
    the flags are appended.
    """
    cc = _config("CC")
    ldshared = _config("LDSHARED")
    if not cc or not ldshared:
        raise CompileError("this interpreter records no C compiler (sysconfig CC/LDSHARED)")
    if "CC" in os.environ:
        override = shlex.split(os.environ["CC"])
        if ldshared[: len(cc)] == cc:
            ldshared = override + ldshared[len(cc) :]
        cc = override
    cflags = _config("CFLAGS") + _config("CCSHARED") + shlex.split(os.environ.get("CFLAGS", ""))
    include = sysconfig.get_paths()["include"]
    compile_ = [*cc, *cflags, *EXTRA_CFLAGS, f"-I{include}", "-c", str(source), "-o", str(obj)]
    link = [*ldshared, *shlex.split(os.environ.get("LDFLAGS", "")), str(obj), "-o", str(target)]
    return [compile_, link]


def compile_extension(source: pathlib.Path, target: pathlib.Path) -> str:
    """Compile *source* into the extension module *target*; return the compiler's output.

    The output holds the warnings of a successful build (empty without any).
    *target* is replaced atomically: a process that has the previous build
    loaded keeps a valid file.  Raises :class:`CompileError` when there is no
    compiler or it fails, with the command and its output in the message.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    output: list[str] = []
    with tempfile.TemporaryDirectory(prefix="squall-speedups-") as workdir:
        obj = pathlib.Path(workdir) / "_speedups.o"
        built = pathlib.Path(workdir) / target.name
        for command in commands(source, obj, built):
            try:
                result = subprocess.run(command, capture_output=True, text=True, check=False)
            except OSError as exc:
                raise CompileError(f"cannot run the C compiler {command[0]!r}: {exc}") from exc
            text = (result.stdout + result.stderr).strip()
            if result.returncode != 0:
                raise CompileError(
                    f"{shlex.join(command)}\nexited with status {result.returncode}:\n{text}"
                )
            if text:
                output.append(text)
        # A temporary name in the target's directory, then a rename: never a
        # half-written file, never one rewritten under a running process.
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            partial.write_bytes(built.read_bytes())
            partial.chmod(0o755)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return "\n".join(output)
