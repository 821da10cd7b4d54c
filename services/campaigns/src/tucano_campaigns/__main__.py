"""`tucano-campaigns [serve|migrate]`."""

from tucano_kit.cli import ServiceCli

from tucano_campaigns.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_campaigns.bootstrap import build
from tucano_campaigns.settings import CampaignsSettings

CLI = ServiceCli(name="campaigns", settings=CampaignsSettings, schema=SCHEMA,
                 migrations=MIGRATIONS, build=build)


def main() -> None:
    CLI.main()


if __name__ == "__main__":
    main()
