"""The wire layer, below the runtime: message types and their registry, the envelope and its codec."""

from monerosim_actors.wire.codec import MAX_FRAME_BYTES, PROTOCOL_VERSION, Envelope, decode, encode
from monerosim_actors.wire.message import MESSAGE_TYPES, Message, Ping, Pong

__all__ = ["MAX_FRAME_BYTES", "MESSAGE_TYPES", "PROTOCOL_VERSION", "Envelope", "Message", "Ping", "Pong",
           "decode", "encode"]
