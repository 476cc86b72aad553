"""The thin layer inside Nuke: standard library only, talks to the engine over a pipe."""
