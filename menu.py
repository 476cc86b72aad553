# Nuke runs this file in GUI sessions when NUKE_PATH names this folder: it adds
# GenerateElement to the Nodes toolbar. A broken install prints why and Nuke carries on.
try:
    import nuke_plugin.install

    nuke_plugin.install.menu()
except BaseException as _genvfx_error:  # noqa: BLE001 - never stop Nuke from starting
    import sys

    print("genvfx: menu not added: {!r}".format(_genvfx_error), file=sys.stderr)
