"""Auth domain: identities, sessions, signing keys. No I/O here."""
