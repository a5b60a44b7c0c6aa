"""Codec and framing, in-process: round trips, bad frames, oversized frames, the registry."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from oa_actors.runtime import codec
from oa_actors.runtime.codec import Echo, Kind, Message, decode_header, decode_payload, encode_frame
from oa_actors.runtime.transport import FrameProtocol


class Batch(Message, tag="test.codec.batch"):
    rows: list[dict[str, Any]]
    source: str = ""


def test_round_trip_and_registry() -> None:
    frame = encode_frame(Kind.TELL, "b", "a", 7, Batch(rows=[{"x": 1}], source="s"))
    h = decode_header(frame)
    assert (h.kind, h.dst, h.src, h.id) == (Kind.TELL, "b", "a", 7)
    assert decode_payload(h.payload) == Batch(rows=[{"x": 1}], source="s")
    assert codec.registry()["test.codec.batch"] is Batch
    assert codec.registry()["sys.ping"] is codec.Ping


def test_message_defined_later_is_decodable() -> None:
    codec.registry()  # build the union first

    class Late(Message, tag="test.codec.late"):
        v: int

    h = decode_header(encode_frame(Kind.TELL, "b", "a", 0, Late(v=3)))
    assert decode_payload(h.payload) == Late(v=3)


@pytest.mark.parametrize(
    "payload",
    [
        msgspec.msgpack.encode({"type": "no.such.type"}),
        msgspec.msgpack.encode({"type": "sys.echo", "n": "not an int"}),
        msgspec.msgpack.encode([1, 2, 3]),
        b"\xc1",
    ],
)
def test_bad_payloads_raise_decode_error(payload: bytes) -> None:
    frame = encode_frame(Kind.TELL, "b", "a", 0, msgspec.Raw(payload))
    with pytest.raises(codec.DecodeError):
        # Invalid msgpack already fails the header (the router drops it); the rest fail the payload.
        decode_payload(decode_header(frame).payload)


def test_malformed_header() -> None:
    with pytest.raises(codec.DecodeError):
        decode_header(b"\x00\x00\x00\x02\xc1\xc1")
    with pytest.raises(codec.DecodeError):
        decode_header(b"\x00\x00\x00\x01\x01")


def test_encoding_an_oversized_message_is_refused() -> None:
    with pytest.raises(codec.FrameTooLarge):
        encode_frame(Kind.TELL, "b", "a", 0, Echo(data=b"x" * (codec.MAX_FRAME + 1)))


def test_duplicate_tags_are_rejected() -> None:
    class One(Message, tag="test.codec.dup"):
        pass

    class Two(Message, tag="test.codec.dup"):
        pass

    try:
        with pytest.raises(TypeError, match=r"test\.codec\.dup"):
            codec.registry()
    finally:
        Message._classes.remove(Two)
        codec._Decoders.dirty = True
    assert codec.registry()["test.codec.dup"] is One


def _feed(proto: FrameProtocol, data: bytes, chunk: int) -> None:
    for i in range(0, len(data), chunk):
        proto.data_received(data[i : i + chunk])


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096, 1 << 20])
def test_framing_survives_any_chunking_and_skips_oversized(chunk: int) -> None:
    got: list[Message] = []
    oversized: list[int] = []
    proto = FrameProtocol(
        lambda f: got.append(decode_payload(decode_header(f).payload)),
        on_oversized=oversized.append,
        max_frame=1000,
    )
    frames = [encode_frame(Kind.TELL, "b", "a", i, Echo(n=i, data=b"y" * (i * 50))) for i in range(10)]
    big = 5000
    stream = b"".join(frames[:5]) + big.to_bytes(4, "big") + b"z" * big + b"".join(frames[5:])
    _feed(proto, stream, chunk)
    # Frames 0..9 have payloads up to 450 bytes (all under 1000); the 5000-byte frame is skipped.
    assert [m.n for m in got if isinstance(m, Echo)] == list(range(10))
    assert oversized == [big]


def test_writes_are_coalesced() -> None:
    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        sizes: list[int] = []
        import socket

        a, b = socket.socketpair()
        received: list[memoryview] = []
        _, pa = await loop.create_unix_connection(lambda: FrameProtocol(lambda f: None), sock=a)
        _, pb = await loop.create_unix_connection(lambda: FrameProtocol(received.append), sock=b)
        assert isinstance(pa, FrameProtocol)
        writes: list[int] = []
        transport = pa.transport
        assert transport is not None
        orig = transport.write

        def spy(data: Any) -> None:
            writes.append(len(data))
            orig(data)

        transport.write = spy  # type: ignore[method-assign]
        for i in range(100):
            pa.send(encode_frame(Kind.TELL, "b", "a", i, Echo(n=i)))
        while len(received) < 100:
            await asyncio.sleep(0.01)
        sizes.extend(writes)
        pa.close()
        pb.close()
        return sizes

    one = len(encode_frame(Kind.TELL, "b", "a", 1, Echo(n=1)))
    writes = asyncio.run(main())
    assert len(writes) == 1 and writes[0] >= 100 * one - 100  # 100 frames, one write
