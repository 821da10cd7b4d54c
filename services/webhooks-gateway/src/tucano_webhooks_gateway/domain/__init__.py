"""Webhooks domain: what a genuine Meta delivery is. No I/O here."""
