"""Errors a caller can act on; each message says what to send instead."""


class CSError(Exception):
    """Base of the errors whose message is shown to the model as-is."""


class AccountNotFound(CSError):
    def __init__(self, reference: str, closest: list[tuple[str, str]]):
        self.reference = reference
        self.closest = closest
        if closest:
            names = ", ".join(f"'{name}' ({aid})" for aid, name in closest)
            hint = f" Closest: {names}."
        else:
            hint = ""
        super().__init__(
            f"No account matches '{reference}'.{hint} Send an account_id or an exact name; "
            "use find-accounts to search by name fragment."
        )


class InvalidArgument(CSError):
    """An argument that is well-typed but unusable (e.g. an unknown segment)."""


class NoData(CSError):
    """The workspace lacks the data an answer needs; the message names the table to add."""
