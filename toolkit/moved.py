"""Names that moved to another module keep working where they were, with a DeprecationWarning
that says where they live now, so a notebook written against an older toolkit still runs.

    __getattr__ = moved.names(__name__, {"keep": "toolkit.keep"})       # in the old module
    moved.module("toolkit.review.store", "toolkit.decisions.store")     # a module that moved

But: only the names listed here; a module's private names were never promised.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings


def _warn(old: str, new: str) -> None:
    # stacklevel 3: the line that used the old name (past this function and the __getattr__)
    warnings.warn(f"{old} moved to {new}; import it from there", DeprecationWarning, stacklevel=3)


def names(module: str, moved: dict[str, str]):
    """A module-level `__getattr__` for `module` that finds each name of `moved` (name -> the
    module it lives in now) there, warning once per use."""
    def __getattr__(name):
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        _warn(f"{module}.{name}", f"{moved[name]}.{name}")
        return getattr(importlib.import_module(moved[name]), name)
    return __getattr__


def module(old: str, new: str, elsewhere: dict[str, str] | None = None) -> types.ModuleType:
    """Make `import old` / `from old import x` work for a module that moved to `new`: a stand-in
    module in sys.modules that hands out `new`'s names (those of `elsewhere` from the module
    named there), warning on each."""
    stand_in = types.ModuleType(old, f"Moved to {new}.")

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        home = (elsewhere or {}).get(name, new)
        _warn(f"{old}.{name}", f"{home}.{name}")
        return getattr(importlib.import_module(home), name)

    stand_in.__getattr__ = __getattr__
    sys.modules.setdefault(old, stand_in)
    return sys.modules[old]
