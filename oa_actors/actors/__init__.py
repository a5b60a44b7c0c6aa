"""The six actors (docs/architecture.md, "The process tree"). Each module has the lifecycle only
(start, health, stop); the docstring of each says what later issues add. The specs live in
`oa_actors.runtime.registry`."""
