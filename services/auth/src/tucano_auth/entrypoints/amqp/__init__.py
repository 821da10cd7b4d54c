"""AMQP consumers of the auth service."""
