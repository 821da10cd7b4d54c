"""Tenants domain: tenants, memberships, plans. No I/O here."""
