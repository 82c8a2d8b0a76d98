"""One experiment protocol (split, embed, fit, pair grids on held-out data) and the cache of
precomputed grids that the labs and the dashboard read."""
