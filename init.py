# Nuke runs this file at start-up when NUKE_PATH names this folder (GUI, terminal and farm).
# It only puts the GenerateElement gizmo on the plugin path; a broken install prints why
# and Nuke carries on.
try:
    import nuke_plugin.install

    nuke_plugin.install.init()
except BaseException as _genvfx_error:  # noqa: BLE001 - never stop Nuke from starting
    import sys

    print("genvfx: not loaded: {!r}".format(_genvfx_error), file=sys.stderr)
