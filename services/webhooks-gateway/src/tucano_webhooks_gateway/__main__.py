"""`tucano-webhooks-gateway [serve|migrate]`."""

from tucano_kit.cli import ServiceCli

from tucano_webhooks_gateway.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_webhooks_gateway.bootstrap import build
from tucano_webhooks_gateway.settings import WebhooksSettings

CLI = ServiceCli(name="webhooks-gateway", settings=WebhooksSettings, schema=SCHEMA,
                 migrations=MIGRATIONS, build=build)


def main() -> None:
    CLI.main()


if __name__ == "__main__":
    main()
