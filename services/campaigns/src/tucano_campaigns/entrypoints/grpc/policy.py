"""Who may call which RPC: the campaigns service's one access table (ARCHITECTURE.md roles)."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy, Role

CONTACTS = "/tucano.campaigns.v1.ContactsService"

POLICY: Policy = {
    f"{CONTACTS}/CreateContact": Access.tenant(Role.OPERATOR, writes=True),
    f"{CONTACTS}/ImportContacts": Access.tenant(Role.OPERATOR, writes=True),
    f"{CONTACTS}/GetContact": Access.tenant(Role.VIEWER),
    f"{CONTACTS}/ListContacts": Access.tenant(Role.VIEWER),
}
