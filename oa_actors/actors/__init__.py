"""The six actors of DESIGN.md section 1. Each module has the lifecycle only (start, health, stop);
the docstring of each says what later issues add. The specs live in `oa_actors.runtime.registry`."""
