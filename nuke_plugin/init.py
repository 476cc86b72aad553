# Nuke runs this file at start-up when NUKE_PATH names this folder (GUI, terminal and farm).
# It only puts the GenerateElement gizmo on the plugin path; a broken install prints why
# and Nuke carries on.
try:
    import genvfx_nuke.install

    genvfx_nuke.install.init()
except BaseException as _genvfx_error:
    import sys

    print(f"genvfx: not loaded: {_genvfx_error!r}", file=sys.stderr)
