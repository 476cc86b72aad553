"""Loaded by test subprocesses (via PYTHONPATH): any network connection fails loudly."""

import os

if os.environ.get("GENVFX_TEST_NETGUARD") == "1":
    import socket

    _allowed = {getattr(socket, "AF_UNIX", None)}

    def _refuse(self, address):  # type: ignore[no-untyped-def]
        if self.family in _allowed:
            return _original(self, address)
        raise ConnectionRefusedError(f"genvfx tests forbid network connections (to {address!r})")

    _original = socket.socket.connect
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
