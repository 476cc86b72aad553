"""Where the Nuke side writes what went wrong, so a compositor's message can stay short."""

import logging
import os

_LOGGER_NAME = "genvfx.nuke"


def log_dir() -> str:
    """`GENVFX_LOG_DIR`, else `~/.genvfx/logs` (created on first use)."""
    folder = os.environ.get("GENVFX_LOG_DIR") or os.path.join(
        os.path.expanduser("~"), ".genvfx", "logs"
    )
    os.makedirs(folder, exist_ok=True)
    return folder


def log_file() -> str:
    return os.path.join(log_dir(), "nuke.log")


def logger() -> logging.Logger:
    """The plugin's logger, writing to `nuke.log` in the log folder."""
    log = logging.getLogger(_LOGGER_NAME)
    path = log_file()
    if not any(getattr(h, "baseFilename", None) == path for h in log.handlers):
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
