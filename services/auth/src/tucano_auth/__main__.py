"""`tucano-auth [serve|migrate|rotate-keys|platform-operator EMAIL on|off]`."""

from tucano_kit.cli import ServiceCli

from tucano_auth.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_auth.bootstrap import build, rotate_keys, set_platform_operator
from tucano_auth.settings import AuthSettings

CLI = ServiceCli(name="auth", settings=AuthSettings, schema=SCHEMA, migrations=MIGRATIONS,
                 build=build, extra_commands={"rotate-keys": rotate_keys,
                                 "platform-operator": set_platform_operator})


def main() -> None:
    CLI.main()


if __name__ == "__main__":
    main()
