"""Messaging domain: channels, templates, messages, usage. No I/O here."""
