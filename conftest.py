"""Repository-wide pytest configuration: the kit's fixtures for real PostgreSQL/RabbitMQ/Redis."""

pytest_plugins = ["tucano_kit.testing"]
