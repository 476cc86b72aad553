"""What Nuke runs at start-up from the `menu.py` beside this package.

The folder NUKE_PATH names (`nuke_plugin/`) holds only `init.py`, `menu.py` and this
package; the gizmo lives in `gizmos/` beside that folder, so nothing else of the project is
importable from Nuke's Python.

`init.py` runs in every Nuke session, GUI or not (farm renders too): it adds the gizmos
folder to the plugin path with the standard library alone, so a script holding the node
loads even when this package cannot be imported. `menu.py` runs in GUI sessions: it adds
the node to the Nodes toolbar. Both are wrapped so a broken install never stops Nuke.
"""

import nuke

NODE_CLASS = "GenerateElement"
TOOLBAR_MENU = "genvfx"


def menu() -> None:
    toolbar = nuke.menu("Nodes")
    genvfx = toolbar.addMenu(TOOLBAR_MENU)
    genvfx.addCommand(NODE_CLASS, "nuke.createNode('{}')".format(NODE_CLASS))
