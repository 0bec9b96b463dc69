"""The `Configurable` base class and its plugin lookup (public via `squall.util`).

A configurable interface is a class whose constructor is a factory for one
of its implementation subclasses, chosen globally with ``configure()``:

    class Resolver(Configurable):
        configurable_entry_point_group = "squall.resolver"

        @classmethod
        def configurable_base(cls): return Resolver

        @classmethod
        def configurable_default(cls): return DefaultResolver

    Resolver.configure("threaded", num_threads=10)   # a registered name
    Resolver.configure("myapp.dns:FastResolver")     # a path
    Resolver.configure(FastResolver)                  # a class
    resolver = Resolver()  # a ThreadedResolver / FastResolver instance

Exceptions raised by ``configure()``:

    ValueError                 -- not an implementation of this interface
     +-- PluginNotFoundError   -- no installed plugin has that name
    ImportError                -- a path or a plugin failed to import
                                  (names the extra to install if it has one)
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from typing import Any, ClassVar, TypeAlias

__all__ = ["Configurable", "PluginNotFoundError"]


class PluginNotFoundError(ValueError):
    """No implementation is registered under the name given to ``configure()``.

    Attributes: `group` (the entry-point group searched), `name` (the name
    asked for) and `available` (the sorted names that are installed).
    """

    def __init__(self, group: str, name: str, available: list[str]) -> None:
        self.group = group
        self.name = name
        self.available = sorted(available)
        installed = ", ".join(repr(n) for n in self.available) or "none"
        super().__init__(
            f"no {group!r} implementation named {name!r} is installed "
            f"(installed: {installed}); pass a registered name, a class, "
            f'or a path like "package.module:Class"'
        )

    def __reduce__(self) -> tuple[type[PluginNotFoundError], tuple[str, str, list[str]]]:
        # The default would call __init__ with the message alone.
        return (type(self), (self.group, self.name, self.available))


def _qualified_name(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None)
    if module and name:
        return f"{module}.{name}"
    return repr(obj)


def _load_path(path: str) -> object:
    """Import ``"pkg.mod:Class"`` or ``"pkg.mod.Class"`` and return the object.

    :raises ImportError: if the module or the attribute does not exist.
    """
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path or "" in attr_path.split("."):
        raise ImportError(f"invalid object path {path!r}; expected 'package.module:Class'")
    obj: object = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ImportError(
                f"cannot import {attr_path!r} from {module_name!r} (for {path!r})",
                name=module_name,
            ) from None
    return obj


def _load_plugin(group: str, name: str) -> object:
    """Load the entry point `name` of `group`.

    :raises PluginNotFoundError: if no installed distribution registers it.
    :raises ImportError: if it fails to import, naming the extra to install
        when the entry point declares one.
    """
    entry_points = importlib.metadata.entry_points(group=group)
    # Several distributions may register one name; the first one found on
    # sys.path wins, as for modules.
    matches = [ep for ep in entry_points if ep.name == name]
    if not matches:
        raise PluginNotFoundError(group, name, list({ep.name for ep in entry_points}))
    entry_point = matches[0]
    try:
        return entry_point.load()
    except (ImportError, AttributeError) as exc:
        where = f"{group!r} implementation {name!r} ({entry_point.value})"
        if entry_point.extras:
            dist = getattr(entry_point, "dist", None)
            extras = ",".join(entry_point.extras)
            if dist is not None and dist.name:
                hint = f"install {dist.name}[{extras}]"
            else:
                hint = f"install the {extras!r} extra of the package that provides it"
            message = f"{where} needs an optional dependency: {hint} ({exc})"
        else:
            message = f"cannot load {where}: {exc}"
        raise ImportError(message, name=getattr(exc, "name", None)) from exc


_SavedConfiguration: TypeAlias = "tuple[type[Configurable] | None, dict[str, Any]]"


class Configurable:
    """Base class for configurable interfaces.

    A configurable interface is an (abstract) class whose constructor acts as
    a factory function for one of its implementation subclasses.  The
    implementation subclass, and keyword arguments for its initializer, can
    be set globally at runtime with `configure`.

    Because the constructor is the factory, the interface looks like a normal
    class and `isinstance` works as usual.  This suits choices that are
    global (e.g. which event loop to use), or a class that has been split
    into specialized subclasses.

    Subclasses must define the class methods `configurable_base` and
    `configurable_default`, and use the instance method `initialize` instead
    of ``__init__``.  They may set `configurable_entry_point_group` so that
    `configure` accepts the names of installed plugins.
    """

    #: Entry-point group in which `configure` looks up plugin names (e.g.
    #: ``"squall.ioloop"``); None means names are not accepted.
    configurable_entry_point_group: ClassVar[str | None] = None

    # The configuration lives in the __dict__ of the configurable base and is
    # read from there only: a nested base must not inherit its parent's.
    _configured_impl: ClassVar[type[Configurable] | None]
    _configured_kwargs: ClassVar[dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        base = cls.configurable_base()
        if cls is base:
            impl = cls.configured_class()
            configured = base.__dict__.get("_configured_kwargs")
            init_kwargs = {**configured, **kwargs} if configured else kwargs
        else:
            impl = cls
            init_kwargs = kwargs
        if impl is not cls and impl.configurable_base() is not base:
            # The implementation is the base of a nested configurable
            # hierarchy: let it pick its own implementation.
            return impl(*args, **init_kwargs)
        instance = super().__new__(impl)
        # Python does not call __init__ on the result (object.__init__ would
        # be called without arguments anyway); initialize() takes its place.
        instance.initialize(*args, **init_kwargs)
        return instance

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        """Return the base class of a configurable hierarchy.

        This is normally the class in which it is defined (not necessarily
        the `cls` argument).
        """
        raise NotImplementedError(f"{cls.__qualname__} must define configurable_base()")

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """Return the implementation class to use if none is configured."""
        raise NotImplementedError(f"{cls.__qualname__} must define configurable_default()")

    def _initialize(self) -> None:
        pass

    initialize: Callable[..., None] = _initialize
    """Initialize a `Configurable` subclass instance.

    Configurable classes use ``initialize`` instead of ``__init__``; it
    receives the constructor's positional and keyword arguments (the keyword
    arguments given to `configure` first, overridden by the caller's).
    """

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Set the class to use when the base class is instantiated.

        `impl` is one of:

        - a subclass of `cls`;
        - a path, ``"package.module:Class"`` or ``"package.module.Class"``
          (any string with a ``.`` or ``:``);
        - the name of a plugin registered in the entry-point group
          `configurable_entry_point_group`, such as ``"uvloop"``;
        - None, to go back to `configurable_default`.

        Keyword arguments are saved and passed to the implementation's
        `initialize` whenever the base class is instantiated (the caller's
        own keyword arguments take precedence).  They replace any saved by
        an earlier call.

        :raises PluginNotFoundError: (a `ValueError`) if `impl` is a name
            that no installed distribution registers; the message lists the
            installed names.
        :raises ValueError: if `impl` is not a subclass of `cls`, or is a
            name and this interface has no entry-point group.
        :raises ImportError: if `impl` is a path or a plugin name that
            cannot be imported; for a plugin with an optional dependency the
            message names the extra to install, e.g. ``squall-ioloop[uvloop]``.
        """
        base = cls.configurable_base()
        resolved: object = impl
        if isinstance(impl, str):
            resolved = cls._resolve_name(impl)
        if resolved is not None and not (isinstance(resolved, type) and issubclass(resolved, cls)):
            raise ValueError(
                f"{_qualified_name(resolved)} is not a subclass of {_qualified_name(cls)}"
            )
        base._configured_impl = resolved
        base._configured_kwargs = dict(kwargs)

    @classmethod
    def configured_class(cls) -> type[Configurable]:
        """Return the currently configured implementation class.

        This is the class given to `configure`, or `configurable_default`.
        """
        base = cls.configurable_base()
        impl: type[Configurable] | None = base.__dict__.get("_configured_impl")
        if impl is None:
            return base.configurable_default()
        return impl

    @classmethod
    def _resolve_name(cls, name: str) -> object:
        """Turn a path or a plugin name given to `configure` into an object."""
        if "." in name or ":" in name:
            return _load_path(name)
        group = cls.configurable_base().configurable_entry_point_group
        if group is None:
            raise ValueError(
                f"{_qualified_name(cls)} has no plugins; configure it with a class "
                f'or a path like "package.module:Class", not {name!r}'
            )
        return _load_plugin(group, name)

    @classmethod
    def _save_configuration(cls) -> _SavedConfiguration:
        """Return the current configuration, for `_restore_configuration`."""
        base = cls.configurable_base()
        return (
            base.__dict__.get("_configured_impl"),
            dict(base.__dict__.get("_configured_kwargs", {})),
        )

    @classmethod
    def _restore_configuration(cls, saved: _SavedConfiguration) -> None:
        """Restore a configuration returned by `_save_configuration`."""
        base = cls.configurable_base()
        base._configured_impl = saved[0]
        base._configured_kwargs = dict(saved[1])
