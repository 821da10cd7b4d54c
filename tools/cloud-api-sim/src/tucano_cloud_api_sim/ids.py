"""Identifier factories. Deterministic for a given seed so test runs can be replayed."""

from __future__ import annotations

import base64
import random
import string

_ALNUM = string.ascii_letters + string.digits
_TRACE = _ALNUM + "-_"
_HEX18 = 16**18


class IdFactory:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        # Graph node ids are 15-16 digit numbers; start somewhere random and count up.
        self._next_node = 100_000_000_000_000 + rng.randrange(10**14)
        self._wamid_salt = rng.randrange(_HEX18)
        self._wamid_seq = 0

    def node_id(self) -> str:
        self._next_node += rng_step(self._rng)
        return str(self._next_node)

    def wamid(self, recipient: str) -> str:
        """Meta-like message id: base64 of a protobuf-ish blob holding the recipient and a
        unique 18-hex-digit key. Unique because the key is a counter (offset by a salt)."""
        self._wamid_seq += 1
        key = (self._wamid_salt + self._wamid_seq) % _HEX18
        rec = recipient.encode()[:255]
        blob = b"\x1c\x18" + bytes((len(rec),)) + rec + b"\x15\x02\x00\x11\x18\x12"
        blob += f"{key:018X}".encode() + b"\x00"
        return "wamid." + base64.b64encode(blob).decode()

    def access_token(self) -> str:
        return "EAAsim" + "".join(self._rng.choices(_ALNUM, k=40))

    def fbtrace_id(self) -> str:
        return "".join(self._rng.choices(_TRACE, k=23))

    def conversation_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


def rng_step(rng: random.Random) -> int:
    return 1 + rng.randrange(997)
