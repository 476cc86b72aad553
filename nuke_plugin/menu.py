# Nuke runs this file in GUI sessions when NUKE_PATH names this folder: it adds
# GenerateElement to the Nodes toolbar. A broken install prints why and Nuke carries on.
try:
    import genvfx_nuke.install

    genvfx_nuke.install.menu()
except BaseException as _genvfx_error:
    import sys

    print(f"genvfx: menu not added: {_genvfx_error!r}", file=sys.stderr)
