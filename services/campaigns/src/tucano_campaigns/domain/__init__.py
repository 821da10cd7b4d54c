"""Campaigns domain: contacts, campaigns, recipients. No I/O here."""
