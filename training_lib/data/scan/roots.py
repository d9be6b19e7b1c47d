"""Which folders may be a data root: never a system folder or the project's own state.

A scan reads every file under its root; pointed at `/etc` or at `var/` (passwords,
databases) it would put their contents in the catalog, the features and the models.
Such a root is refused unless TLIB_ALLOW_SYSTEM_DATA_ROOT=1 says it is meant.
"""
from __future__ import annotations

import os
from pathlib import Path

from training_lib import settings
from training_lib.errors import DataFolderError

ALLOW_ENV = "TLIB_ALLOW_SYSTEM_DATA_ROOT"
# refused as themselves and with everything below them
SYSTEM_FOLDERS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/root")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def protected_folders() -> list[str]:
    """Resolved system folders and the project's var/ (state, passwords, databases)."""
    found = [os.path.realpath(p) for p in SYSTEM_FOLDERS]
    found.append(os.path.realpath(settings.var_dir()))
    return list(dict.fromkeys(found))


def system_root_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def check_data_root(root: Path | str) -> str:
    """The resolved root; DataFolderError when it is `/`, a system folder or var/ (or below
    one)."""
    real = os.path.realpath(root)
    if system_root_allowed():
        return real
    refused = next((f for f in protected_folders() if _inside(real, f)), None)
    if refused is None and real == os.sep:
        refused = os.sep
    if refused is not None:
        shown = repr(str(root)) + ("" if str(root) == real else f" (resolved {real!r})")
        raise DataFolderError(f"data root {shown} is the system or project folder {refused!r}, or "
                        f"inside it: refused so that a scan cannot read its files; set "
                        f"{ALLOW_ENV}=1 to scan it anyway")
    return real


FIX = "pass a folder with training files (train --data DIR, or the trigger form's data_folder)"


def check_data_folder(root: Path | str) -> None:
    """Fail fast, before any scan, on a data folder that cannot hold data: missing, not a
    folder, or without a single (non-hidden) file anywhere below it. DataFolderError (not
    retryable) with one line naming the folder and the fix."""
    path = Path(root)
    if not path.exists():
        raise DataFolderError(f"data folder {str(path)!r} does not exist; {FIX}")
    if not path.is_dir():
        raise DataFolderError(f"data folder {str(path)!r} is a file, not a folder; {FIX}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise DataFolderError(f"data folder {str(path)!r} cannot be read by user "
                              f"{os.getuid()} (permission denied); {FIX}")
    if not _holds_a_file(path):
        raise DataFolderError(f"data folder {str(path)!r} is empty (no files below it); {FIX}")


def _holds_a_file(path: Path) -> bool:
    """Stops at the first non-hidden file, so a large folder costs one directory read;
    after 10,000 folders without one (or a symlink loop) it leaves the verdict to the scan."""
    for seen, (_, dirs, files) in enumerate(os.walk(path, followlinks=True)):
        if seen > 10_000 or any(not f.startswith(".") for f in files):
            return True
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return False
