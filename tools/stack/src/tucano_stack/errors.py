"""The stack's own failure: one line for humans, printed by `__main__` with exit status 2."""


class StackError(Exception):
    """The stack cannot start; the message is one line naming what to fix."""
