"""What Nuke runs at start-up from the `init.py` and `menu.py` beside this package.

The folder NUKE_PATH names (`nuke_plugin/`) holds only those two files and this package;
the gizmo lives in `gizmos/` beside that folder, so nothing else of the project is
importable from Nuke's Python.

`init.py` runs in every Nuke session, GUI or not (farm renders too): it only adds the
gizmos folder to the plugin path. `menu.py` runs in GUI sessions: it adds the node to the
Nodes toolbar. Both are wrapped by their callers so a broken install never stops Nuke.
"""

import os

import nuke

NODE_CLASS = "GenerateElement"
TOOLBAR_MENU = "genvfx"


def nuke_path_folder() -> str:
    """The folder users point NUKE_PATH at (it holds `init.py`, `menu.py` and this package)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gizmo_dir() -> str:
    """`gizmos/`, beside the NUKE_PATH folder."""
    return os.path.join(os.path.dirname(nuke_path_folder()), "gizmos")


def init() -> None:
    folder = gizmo_dir()
    if not os.path.isfile(os.path.join(folder, NODE_CLASS + ".gizmo")):
        raise RuntimeError("{}.gizmo is missing from {}".format(NODE_CLASS, folder))
    nuke.pluginAddPath(folder, addToSysPath=False)


def menu() -> None:
    toolbar = nuke.menu("Nodes")
    genvfx = toolbar.addMenu(TOOLBAR_MENU)
    genvfx.addCommand(NODE_CLASS, "nuke.createNode('{}')".format(NODE_CLASS))
