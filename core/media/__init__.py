"""Pixels in and out: plates and masks, EXR frames, OCIO colour, resizing, region geometry."""
