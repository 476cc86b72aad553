"""What Nuke runs at start-up from the `init.py` and `menu.py` beside this package.

`init.py` runs in every Nuke session, GUI or not (farm renders too): it only adds the
gizmos folder to the plugin path. `menu.py` runs in GUI sessions: it adds the node to the
Nodes toolbar. Both are wrapped by their callers so a broken install never stops Nuke.
"""

import os

import nuke

NODE_CLASS = "GenerateElement"
TOOLBAR_MENU = "genvfx"


def package_root() -> str:
    """The folder users point NUKE_PATH at (it holds `gizmos/` and `nuke_plugin/`)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gizmo_dir() -> str:
    return os.path.join(package_root(), "gizmos")


def init() -> None:
    folder = gizmo_dir()
    if not os.path.isfile(os.path.join(folder, NODE_CLASS + ".gizmo")):
        raise RuntimeError("{}.gizmo is missing from {}".format(NODE_CLASS, folder))
    nuke.pluginAddPath(folder)


def menu() -> None:
    toolbar = nuke.menu("Nodes")
    genvfx = toolbar.addMenu(TOOLBAR_MENU)
    genvfx.addCommand(NODE_CLASS, "nuke.createNode('{}')".format(NODE_CLASS))
