"""Reading and editing Nuke scripts (.nk, .gizmo) as bytes, without Nuke.

An unchanged script writes back byte for byte; edits only add lines.
"""

from core.nk.script import External, Input, Knob, Node, Script
from core.nk.tokens import quote, word_text

__all__ = ["External", "Input", "Knob", "Node", "Script", "quote", "word_text"]
