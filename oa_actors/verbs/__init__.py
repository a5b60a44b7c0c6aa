"""The verb registry: every WebSocket verb and event of the bridge, declared once.

- `registry`: the building blocks (`ErrorCode`, the `Args`/`Reply`/`EventData` base Structs, `Verb`,
  `Event`).
- `catalog`: every verb (arguments and reply Structs, the actor that serves it), in `VERBS`.
- `events`: every event type and its `data` Struct, in `EVENTS`.
- `dispatch`: `VerbTable`, how an actor serves its verbs, and `ask_verb`, how one asks for one.
- `doc`: the tables of docs/protocol.md, generated from the declarations
  (`python -m oa_actors.verbs.doc` rewrites them; a test fails when they differ).

The package imports nothing on its own, so `messages` can use `events` without a cycle.
"""
