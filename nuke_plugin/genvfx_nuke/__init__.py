"""genvfx inside Nuke: the GenerateElement node's logic and its worker client.

Standard library only and Python 3.9 compatible: Nuke's own Python never needs torch.
Generation runs in a separate `genvfx worker` process spoken to with JSON lines.
"""
