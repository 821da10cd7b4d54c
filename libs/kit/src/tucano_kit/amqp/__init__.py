"""RabbitMQ plumbing: connection, topology, confirmed publishing, consuming, outbox and inbox."""

from tucano_kit.amqp.connection import connect
from tucano_kit.amqp.publisher import Publisher, PublishError
from tucano_kit.amqp.topology import TOPOLOGY, declare_topology

__all__ = ["TOPOLOGY", "PublishError", "Publisher", "connect", "declare_topology"]
