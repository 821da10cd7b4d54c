"""AuthService: parse, call the handler, map. Nothing else."""

from __future__ import annotations

from datetime import timedelta

import grpc
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc

from tucano_auth.application import keys
from tucano_auth.application.ports import Clock, KeyRepository


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, key_repository: KeyRepository, clock: Clock, token_ttl: timedelta):
        self._keys, self._clock, self._ttl = key_repository, clock, token_ttl

    async def GetJwks(self, request: auth_pb2.GetJwksRequest,
                      context: grpc.aio.ServicerContext) -> auth_pb2.GetJwksResponse:
        published = await keys.published_keys(self._keys, self._clock, self._ttl)
        return auth_pb2.GetJwksResponse(keys=[
            auth_pb2.JsonWebKey(**{f: k.public_jwk[f] for f in
                                   ("kty", "crv", "x", "y", "kid", "use", "alg")})
            for k in published])
