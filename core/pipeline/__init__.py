"""From a job to frames: prepare, plan, windows, pipeline arguments, inference, canvas, engine."""
