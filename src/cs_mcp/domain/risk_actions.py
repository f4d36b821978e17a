"""The recommended action of an at-risk account, built from its tier, ARR at risk, renewal and own drivers.

  urgency  the tier's (actions catalogue: urgency.<tier>)
  plays    the plays of its risk-raising drivers, in driver order, without repeats (catalogue: plays.<metric>),
           at most churn.actions.plays of them; a low-risk account keeps the regular cadence
  renewal  renewal within churn.actions.renewal_soon_days: agree the renewal path now; within
           renewal_planning_days: start the renewal plan; later: the days are stated
  owner    the CS lead with the executive sponsor when ARR at risk reaches churn.actions.executive_arr_at_risk,
           else the CSM
The sentences live in resources/catalogues/actions.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cs_mcp.domain.formatting import day_count, money

if TYPE_CHECKING:
    from cs_mcp.config import ChurnActions
    from cs_mcp.domain.churn import Driver


def plays_for(drivers: Sequence[Driver], limit: int) -> list[str]:
    """The distinct plays of the risk-raising drivers, in order."""
    from cs_mcp.content import catalogue

    plays = catalogue("actions")["plays"]
    out: list[str] = []
    for d in drivers:
        play = plays.get(d.metric or d.feature)
        if d.direction == "raises risk" and play and play not in out:
            out.append(play)
    return out[:limit]


def recommended_action(
    tier: str, arr_at_risk: float | None, days_to_renewal: float | None, drivers: Sequence[Driver],
    settings: ChurnActions,
) -> str:
    from cs_mcp.content import catalogue

    cat = catalogue("actions")
    plays = plays_for(drivers, settings.plays) if tier != "low" else []
    what = "; ".join(plays) if plays else cat["low_risk"] if tier == "low" else \
        "review the account's health inputs with the CSM and agree one fix"
    parts = [f"{cat['urgency'][tier]}: {what}."]
    if days_to_renewal is not None and days_to_renewal == days_to_renewal and days_to_renewal >= 0 and tier != "low":
        days = int(days_to_renewal)
        key = ("soon" if days <= settings.renewal_soon_days
               else "planning" if days <= settings.renewal_planning_days else "later")
        text = cat["renewal"][key].format(days=day_count(days))
        parts.append(text[0].upper() + text[1:] + ".")
    if tier != "low":
        at_risk = arr_at_risk or 0.0
        owner = cat["owner"]["executive" if at_risk >= settings.executive_arr_at_risk else "csm"]
        parts.append(f"Owner: {owner} ({money(at_risk)} at risk).")
    return " ".join(parts)
