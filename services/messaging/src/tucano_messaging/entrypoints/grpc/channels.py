"""ChannelsService: parse, call, map."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
from tucano.messaging.v1 import channels_pb2, channels_pb2_grpc
from tucano_kit import paging
from tucano_kit.auth import current_caller

from tucano_messaging.application.ports import ChannelRepository
from tucano_messaging.domain.channels import Channel

RepositoryFactory = Callable[[uuid.UUID], ChannelRepository]


def channel_to_proto(channel: Channel) -> channels_pb2.Channel:
    message = channels_pb2.Channel(
        channel_id=str(channel.id), waba_id=channel.waba_id,
        phone_number_id=channel.phone_number_id,
        display_phone_number=channel.display_phone_number,
        messages_per_second=channel.messages_per_second)
    message.create_time.FromDatetime(channel.created_at)
    return message


class ChannelsServicer(channels_pb2_grpc.ChannelsServiceServicer):
    def __init__(self, repositories: RepositoryFactory):
        self._repositories = repositories

    async def ListChannels(self, request: channels_pb2.ListChannelsRequest,
                           context: grpc.aio.ServicerContext
                           ) -> channels_pb2.ListChannelsResponse:
        tenant = uuid.UUID(current_caller().require_tenant())
        size = paging.page_size(request.page_size)
        after = paging.decode_after("channels", request.page_token)
        found = await self._repositories(tenant).list(size + 1, after)
        page = found[:size]
        token = ""
        if len(found) > size:
            token = paging.encode_after("channels", page[-1].created_at, page[-1].id)
        return channels_pb2.ListChannelsResponse(
            channels=[channel_to_proto(c) for c in page], next_page_token=token)
