"""Model families as data, resolving a model reference, built-in tiny models, devices."""
