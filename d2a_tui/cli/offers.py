"""`d2a offer`, `d2a offers`, `d2a accept`, `d2a decline`, `d2a withdraw`, `d2a ask`: hand-offs
to providers' services from the command line.

Registered through `cli.COMMANDS`. Dates are read as everywhere else (`today`,
`2026-11-26`, `26/11/2026`, on the hub's calendar); every refusal is one `d2a:` line.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import common_options, open_hub, print_json, typed_day
from d2a_tui.domain.offers import DECLINE_REASONS

if TYPE_CHECKING:
    from d2a_tui.domain.views import Change
    from d2a_tui.services.hub import Hub


def offer_json(view: Any) -> dict[str, Any]:
    offer = view.offer
    return {
        "offer_id": offer.offer_id,
        "journey_id": offer.journey_id,
        "service_id": offer.service_id,
        "service": view.service_name,
        "status": offer.status,
        "made_at": offer.made_at,
        "made_by": offer.made_by,
        "start": offer.start,
        "note": offer.note,
        "answered_at": offer.answered_at,
        "answered_by": offer.answered_by,
        "reason": offer.reason,
        "text": offer.text,
        "questions": [
            {"asked_at": q.asked_at, "asked_by": q.asked_by, "text": q.text}
            for q in offer.questions
        ],
        "clock": view.level.label,
        "name": view.card.name,
        "nhs_number": view.card.nhs_number,
        "pathway": view.card.pathway,
        "column": view.card.column,
    }


def _done(hub: Hub, change: Change, what: str) -> int:
    offer_id = change.event.payload.get("offer_id", "")
    column = hub.flow.column(change.card.column).name
    print(f"offer {offer_id[-8:]} {what}: {change.card.short_id} in {column}")
    return 0


def cmd_offer(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        journey_id = hub.resolve(args.journey)
        start = typed_day(hub, args.start, "start date")
        change = hub.offers.make(journey_id, args.service, start=start, note=args.note)
        if args.json:
            print_json({"offer_id": change.event.event_id, "journey_id": journey_id})
            return 0
        return _done(hub, change, f"made to {args.service}")
    finally:
        hub.close()


def cmd_offers(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        views = hub.offers.list(service=args.service, open_only=args.open)
        if args.json:
            print_json([offer_json(view) for view in views])
            return 0
        if not views:
            print("no offers")
            return 0
        now = hub.now()
        for view in views:
            offer = view.offer
            if offer.is_open:
                state = f"waiting {_age(now - offer.made_at)} ({view.level.label})"
            elif offer.status == "accepted":
                state = f"accepted, start {offer.start.isoformat() if offer.start else '?'}"
            elif offer.status == "declined":
                state = f"declined: {offer.reason}"
            else:
                state = offer.status
            print(
                f"{offer.short_id}  {view.card.short_id} {view.card.initials:<4} "
                f"{view.card.pathway or 'P?'}  {view.service_name}  {state}"
            )
        return 0
    finally:
        hub.close()


def _age(delta: Any) -> str:
    from d2a_tui.domain.timefmt import humanise

    return humanise(delta)


def cmd_accept(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        start = typed_day(hub, args.start, "start date")
        assert start is not None  # --start is required
        return _done(hub, hub.offers.accept(args.offer, start), f"accepted from {start}")
    finally:
        hub.close()


def cmd_decline(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        change = hub.offers.decline(args.offer, args.reason, args.text)
        return _done(hub, change, f"declined ({args.reason})")
    finally:
        hub.close()


def cmd_withdraw(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        return _done(hub, hub.offers.withdraw(args.offer), "withdrawn")
    finally:
        hub.close()


def cmd_ask(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    try:
        return _done(hub, hub.offers.ask(args.offer, args.text), "question sent to the hub")
    finally:
        hub.close()


def register(sub: Any) -> None:
    offer = sub.add_parser("offer", help="offer a person to a provider's service")
    common_options(offer)
    offer.add_argument("journey", help="journey id or an unambiguous prefix of it")
    offer.add_argument("service", help="the service's id (see `d2a service list`)")
    offer.add_argument("--start", help="proposed start: today, YYYY-MM-DD or DD/MM/YYYY")
    offer.add_argument("--note", help="a note to the provider")
    offer.add_argument("--json", action="store_true")
    offer.set_defaults(handler=cmd_offer)

    offers = sub.add_parser("offers", help="offers to providers and their answers")
    common_options(offers)
    offers.add_argument("--service", help="only this service's offers")
    offers.add_argument("--open", action="store_true", help="only offers waiting for an answer")
    offers.add_argument("--json", action="store_true")
    offers.set_defaults(handler=cmd_offers)

    def answer(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        common_options(parser)
        parser.add_argument("offer", help="the offer's id or its last 8 characters")
        return parser

    accept = answer("accept", "accept an offer, with the start date")
    accept.add_argument("--start", required=True, help="today, YYYY-MM-DD or DD/MM/YYYY")
    accept.set_defaults(handler=cmd_accept)

    decline = answer("decline", "decline an offer, with a coded reason")
    decline.add_argument("--reason", required=True, choices=tuple(DECLINE_REASONS))
    decline.add_argument("--text", help="words to go with the reason (needed for 'other')")
    decline.set_defaults(handler=cmd_decline)

    withdraw = answer("withdraw", "withdraw an offer the provider has not answered")
    withdraw.set_defaults(handler=cmd_withdraw)

    ask = answer("ask", "ask the hub a question about an offer")
    ask.add_argument("text", help="the question")
    ask.set_defaults(handler=cmd_ask)
