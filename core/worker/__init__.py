"""The long-lived worker that hosts such as the Nuke node drive over JSON lines."""
