"""Training config files that staff name (the API's `config_file`, RETRAIN_CONFIG_FILE for the admin's "Retrain now"
and scheduled retrains): only small regular files inside settings.TRAINING_CONFIG_DIR are read.

Anything else would let staff probe the server's files (existence, TOML keys in the error) or exhaust its memory
(/dev/zero). `train_model --config`, run by an operator at the server's shell, reads any path (see
model_version_create).
"""

import os
import stat
import tomllib
from pathlib import Path

from django.conf import settings

from core.exceptions import ApplicationError

MAX_BYTES = 64 * 1024


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message, {"field": "config"})


def training_config_file_read(name) -> tuple[str, dict]:
    """(resolved path, TOML values) of a config file inside TRAINING_CONFIG_DIR; ApplicationError otherwise.

    A relative name is taken inside the folder. The path is resolved (``..``, symlinks) before it is checked, and a
    path outside gets one answer whether or not it exists; only then is the file opened (never following a link,
    never blocking on a FIFO) and read, at most MAX_BYTES.
    """
    folder = Path(settings.TRAINING_CONFIG_DIR).resolve()
    outside = _refused(f"config_file must name a file inside the training config folder {folder} (TRAINING_CONFIG_DIR)")
    if not isinstance(name, str) or not name.strip():
        raise outside
    try:
        path = (folder / name).resolve()  # an absolute name replaces the folder, then must resolve inside it
    except (OSError, ValueError, RuntimeError):  # NUL byte, a name too long, a symlink loop
        raise outside from None
    if path == folder or not path.is_relative_to(folder):
        raise outside
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise _refused(f"config_file {name!r}: no readable file in {folder} ({exc.strerror})") from None
    too_big = _refused(f"config_file {name!r} is larger than {MAX_BYTES // 1024} KB")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refused(f"config_file {name!r} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise too_big
        data = b""
        while len(data) <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:  # it grew since fstat
        raise too_big
    try:
        values = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _refused(f"config_file {name!r} is not valid TOML: {exc}") from None
    return str(path), values
