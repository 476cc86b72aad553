"""Nuke scripts without Nuke: the `.nk` reader and editor, insert, audit, job fields, colour."""
