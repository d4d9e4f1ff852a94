"""The gateway's files are its user's alone.

The data directory holds the database (staff sessions, request bodies, upstream keys),
its WAL and shared-memory files, the journal, the metrics files and the tokenizer cache;
exports hold training data. Every file the gateway creates is made without group or other
permissions (umask 077), and at start the data directory is closed to others (0700) with
everything already in it (group and other bits removed), for installations made before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def keep_new_files_private() -> None:
    os.umask(PRIVATE_UMASK)


def close_data_dir(data_dir: Path) -> int:
    """Make `data_dir` 0700 and take group and other permissions off everything in it
    (symbolic links are left alone). Returns how many entries changed."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = _close(data_dir)
    for root, directories, files in os.walk(data_dir):
        for name in directories + files:
            changed += _close(Path(root) / name)
    return changed


def _close(path: Path) -> int:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or not mode & PRIVATE_UMASK:
        return 0
    path.chmod(stat.S_IMODE(mode) & ~PRIVATE_UMASK)
    return 1
