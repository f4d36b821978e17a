"""Errors a caller can act on; each message says what to send instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cs_mcp.domain.formatting import money

if TYPE_CHECKING:
    from cs_mcp.workspace.queries.accounts import AccountMatch


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


class AmbiguousAccount(CSError):
    """Several accounts answer to the reference: the message lists them and asks which."""

    def __init__(self, reference: str, matches: list[AccountMatch], total: int):
        self.reference = reference
        self.matches = matches
        self.total = total
        listed = "; ".join(
            f"{m.name} ({m.account_id}, {m.segment or 'no segment'}, {money(m.arr)} ARR)" for m in matches
        )
        more = f"; and {total - len(matches)} more" if total > len(matches) else ""
        super().__init__(
            f"'{reference}' matches {total} accounts: which one? {listed}{more}. Send its account_id "
            f"(or its exact name); find-accounts with query '{reference}' lists them all."
        )


class InvalidArgument(CSError):
    """An argument that is well-typed but unusable (e.g. an unknown segment)."""


class NoData(CSError):
    """The workspace lacks the data an answer needs; the message names the table to add."""
