"""`tucano-messaging [serve|migrate]`."""

from tucano_kit.cli import ServiceCli

from tucano_messaging.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_messaging.bootstrap import build
from tucano_messaging.settings import MessagingSettings

CLI = ServiceCli(name="messaging", settings=MessagingSettings, schema=SCHEMA,
                 migrations=MIGRATIONS, build=build)


def main() -> None:
    CLI.main()


if __name__ == "__main__":
    main()
