"""`tucano-tenants [serve|migrate]`."""

from tucano_kit.cli import ServiceCli

from tucano_tenants.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_tenants.bootstrap import build
from tucano_tenants.settings import TenantsSettings

CLI = ServiceCli(name="tenants", settings=TenantsSettings, schema=SCHEMA, migrations=MIGRATIONS,
                 build=build)


def main() -> None:
    CLI.main()


if __name__ == "__main__":
    main()
