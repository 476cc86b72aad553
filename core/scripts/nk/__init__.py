"""Reading and editing Nuke scripts (.nk, .gizmo) as bytes, without Nuke.

An unchanged script writes back byte for byte; edits only add lines.
"""

from .script import External, Input, Knob, Node, Script
from .tokens import quote, word_text

__all__ = ["External", "Input", "Knob", "Node", "Script", "quote", "word_text"]
