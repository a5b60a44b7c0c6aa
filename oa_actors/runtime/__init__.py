"""The actor runtime: codec, transport, actor API, supervisor, control socket (see docs/runtime.md).

Public API for actor authors: `Actor`, `Context`, `Message` (subclass it to add a message type),
`AskTimeout`, `ActorUnavailable`, and `ActorSpec` / `Restart` to declare actors.
"""

from oa_actors.runtime.actor import Actor, ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Message
from oa_actors.runtime.registry import ActorSpec, Restart

__all__ = ["Actor", "ActorSpec", "ActorUnavailable", "AskTimeout", "Context", "Message", "Restart"]
