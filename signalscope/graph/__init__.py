"""The dependency graph: registry plus receivers' effects, cycles, and impact trees."""
