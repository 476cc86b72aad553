# Nuke runs this file at start-up when NUKE_PATH names this folder (GUI, terminal and farm).
# It puts the GenerateElement gizmo (in `gizmos/` beside this folder) on the plugin path
# using only the standard library, so a script holding the node loads even when the
# genvfx_nuke package cannot be imported. A broken install prints why and Nuke carries on.
try:
    import os as _genvfx_os

    import nuke

    for _genvfx_folder in nuke.pluginPath():
        if _genvfx_os.path.isdir(_genvfx_os.path.join(_genvfx_folder, "genvfx_nuke")):
            _genvfx_gizmos = _genvfx_os.path.join(_genvfx_os.path.dirname(_genvfx_folder), "gizmos")
            if not _genvfx_os.path.isfile(
                _genvfx_os.path.join(_genvfx_gizmos, "GenerateElement.gizmo")
            ):
                raise RuntimeError("GenerateElement.gizmo is missing from " + _genvfx_gizmos)
            nuke.pluginAddPath(_genvfx_gizmos, addToSysPath=False)
            break
    else:
        raise RuntimeError("no folder on the plugin path holds genvfx_nuke; check NUKE_PATH")
except BaseException as _genvfx_error:
    import sys

    print(f"genvfx: not loaded: {_genvfx_error!r}", file=sys.stderr)
