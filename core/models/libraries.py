"""Keeping diffusers and transformers quiet: genvfx reports progress and warnings itself."""

from __future__ import annotations


def quiet_libraries() -> None:
    """diffusers and transformers print progress bars and warnings to stderr; genvfx reports its own."""
    import diffusers
    import transformers

    for logging_module in (diffusers.utils.logging, transformers.utils.logging):
        logging_module.set_verbosity_error()
        logging_module.disable_progress_bar()
