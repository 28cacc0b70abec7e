"""Errors a user can fix: the CLI prints them as one line on stderr and exits 1."""


class UserError(Exception):
    pass
