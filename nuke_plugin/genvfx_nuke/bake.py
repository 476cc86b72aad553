"""Bake to Read: the shown take as a plain Read and a Merge2 over the plate, outside the node.

The same knob values `genvfx insert` writes into a saved script (file, frame range with
`origset`, `raw`, a label naming element and version), made with Nuke's Python in the
group that holds the node, so the comp no longer needs the GenerateElement node or genvfx
to show the element. The frames carry their provenance in their EXR headers, which is what
`genvfx audit` reads.
"""

import os
from typing import Any, List, Tuple

import nuke

from genvfx_nuke import settings


def read_knobs(pattern: str, first: int, last: int, label: str) -> List[Tuple[str, Any]]:
    """The Read's knob values for a take's frames (a path Nuke evaluates, so TCL-escaped)."""
    return [
        ("file", settings.knob_path(pattern, evaluated=True)),
        ("first", first),
        ("last", last),
        ("origfirst", first),
        ("origlast", last),
        ("origset", True),
        ("raw", True),
        ("label", label),
    ]


def bake(node: Any) -> Tuple[Any, Any]:
    """Make the Read and the Merge2 (B = the node's plate, A = the take) beside `node`."""
    pattern = str(node["take_file"].value())
    version = str(node["take_version"].value())
    element = os.path.basename(os.path.dirname(os.path.dirname(pattern)))
    first, last = int(node["take_first"].value()), int(node["take_last"].value())
    with node.parent():
        read = nuke.createNode("Read", inpanel=False)
        merge = nuke.createNode("Merge2", inpanel=False)
    for name, value in read_knobs(pattern, first, last, "genvfx {} {}".format(element, version)):
        read[name].setValue(value)
    merge["label"].setValue("genvfx {} {} over plate".format(element, version))
    merge.setInput(0, node.input(0))
    merge.setInput(1, read)
    return read, merge
