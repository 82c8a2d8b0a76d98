"""The foundations every other package stands on: input validation, array conversion, devices,
paths, caches, hub reachability, thread settings and lazy imports. Nothing here imports another
``grounding_kit`` package."""
