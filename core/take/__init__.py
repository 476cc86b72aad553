"""A take on disk: its version folder, its record (manifest and provenance), its frame writer."""
