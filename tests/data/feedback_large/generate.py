"""Write the realistic NPS comment set of tests/test_nps_themes_large.py (seeded: rerunning gives the same files).

A business broadband and phone provider's relationship and transactional surveys: 4,000 answers from 600
accounts over a year. Comments are built from many paraphrases per topic, some mix two or three topics, some
carry typos, some are one word and some run to several sentences, and about one in ten is chatter with no
topic at all. Detractors mostly complain about speed, outages, support waits, billing errors, installation
delays, price rises and routers; promoters mostly praise the staff, a reliable connection, value and a quick
setup. The topics each comment was built from are written to truth/topics.csv (not a table of the
workspace) so that the tests can check where a comment lands.

    python tests/data/feedback_large/generate.py
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20260630
AS_OF = dt.date(2026, 6, 30)
ACCOUNTS = 600
ANSWERS = 4000

PAINS = ("speed", "outage", "support_wait", "billing", "installation", "price", "router")
PRAISES = ("staff", "reliable", "value", "quick_setup")

# A topic is said either as a whole phrase or as a subject with a predicate ("the line" + "keeps dropping"):
# the core words recur as they do in real verbatims, around them the wording varies.
# {n}, {mbps}, {got}, {amount}, {days}, {weeks}, {hours}, {when}, {who}, {month} are filled at random.
PHRASES: dict[str, tuple[str, ...]] = {
    "speed": (
        "we pay for {mbps} Mbps and get {got} on a good day",
        "speed tests show {got} Mbps on a {mbps} Mbps package",
        "slow",
        "slow speeds {when}",
        "video calls freeze because the bandwidth just isn't there",
        "pages take ages to load and big files take forever to download",
        "uploading to the cloud takes hours, the speed is awful",
        "nowhere near the speed we were sold",
        "too slow for a team of our size",
        "really slow internet",
    ),
    "outage": (
        "constant outages, {n} this month alone",
        "the internet went down for {days} days and nobody could work",
        "another outage, the third since {month}",
        "no internet for most of {month}",
        "outages",
        "phones and internet both dead for {hours} hours",
        "we had a full day without a connection and lost sales",
        "intermittent loss of service that nobody can explain",
        "it keeps dropping out",
        "frequent outages {when}",
    ),
    "support_wait": (
        "on hold for {hours} hours to reach customer service",
        "waited over an hour on the phone before anyone picked up",
        "customer service is useless, they never call back",
        "we were transferred between departments five times",
        "nobody at the call centre could answer a simple question",
        "support promised a call back that never came",
        "it takes days to get a reply from customer support",
        "impossible to speak to a human at customer service",
        "customer service",
        "raised a ticket {weeks} weeks ago and still no answer from support",
        "poor customer service",
        "long waits on the phone every time we call support",
    ),
    "billing": (
        "we were billed twice in {month}",
        "overcharged by {amount} and still waiting for the refund",
        "charged for a line we cancelled months ago",
        "the bill does not match the contract",
        "they took the direct debit twice and refused a refund",
        "billing is a mess",
        "we keep getting charged for extras we never ordered",
        "wrong bill again",
        "a credit note promised in {month} never showed up on the invoice",
        "billing errors",
    ),
    "installation": (
        "it took {weeks} weeks to install the line at our new office",
        "the engineer never turned up for the installation",
        "installation was delayed {n} times",
        "we waited {weeks} weeks for the installation",
        "the install appointment was cancelled on the day",
        "moving to a new site took a month to get connected",
        "the engineer missed two appointments before the install",
        "the activation date kept slipping",
        "took ages to get installed",
        "we were promised installation within a week and waited {weeks} weeks",
        "the technician arrived without the right equipment and the install was rescheduled",
    ),
    "price": (
        "too expensive",
        "the price went up again at renewal",
        "another price rise with no improvement in service",
        "far too expensive compared with other providers",
        "competitors are much cheaper for the same package",
        "the annual price increase is hard to justify",
        "overpriced",
        "the price hike in {month} was not announced properly",
        "we are looking for a cheaper provider when the contract ends",
        "prices keep going up",
    ),
    "router": (
        "the router keeps restarting on its own",
        "the wifi signal does not reach the back office",
        "the hub they supplied is terrible",
        "we had to buy our own router because theirs was so bad",
        "the router needs a reboot every morning",
        "wifi range is poor and the replacement router was no better",
        "the supplied modem is ancient",
        "router problems",
        "the router lights flash orange and the wifi dies",
        "weak wifi upstairs",
    ),
    "staff": (
        "the engineer was friendly and explained everything",
        "{who} on the phone was really helpful",
        "friendly team who actually care",
        "the technician was brilliant and sorted it in an hour",
        "our account manager {who} is excellent",
        "really helpful people",
        "the support agent went above and beyond",
        "lovely staff",
        "{who} was patient and knowledgeable",
        "the person I spoke to was kind and solved the problem quickly",
        "helpful staff",
    ),
    "reliable": (
        "never had an outage in {n} years",
        "fast and reliable",
        "it just works",
        "super fast speeds all day",
        "the line never drops",
        "we get the full {mbps} Mbps even at peak times",
        "video calls are crystal clear",
        "reliable service",
        "speeds are great and it never goes down",
        "rock solid",
    ),
    "value": (
        "good value for money",
        "great price for what we get",
        "cheaper than our old provider and better",
        "fair pricing",
        "the package is excellent value",
        "reasonable monthly cost",
        "competitive price and no surprise charges",
        "good deal",
        "the price is fair for the speed",
    ),
    "quick_setup": (
        "the installation was quick and painless",
        "set up in a day",
        "switching over was easy",
        "the engineer installed everything in under an hour",
        "easy setup, we were online the same day",
        "plug and play, no fuss",
        "the move to a new office was seamless",
        "smooth installation",
        "up and running within a day of ordering",
    ),
}
SUBJECTS: dict[str, tuple[str, ...]] = {
    "speed": ("the internet", "our broadband", "the connection", "download speed", "upload speed", "the speed",
              "speeds", "the line"),
    "outage": ("the connection", "the broadband", "the internet", "our line", "the service", "the wifi"),
    "support_wait": ("customer service", "customer support", "the support line", "the call centre", "support",
                     "the helpdesk"),
    "billing": ("the bill", "our invoice", "billing", "the monthly bill", "the invoices"),
    "installation": ("the installation", "the install", "getting the line installed", "installation at the new site"),
    "price": ("the price", "the monthly price", "the cost", "pricing", "the price per line"),
    "router": ("the router", "the wifi", "the hub", "the wireless", "the wifi router"),
    "staff": ("the staff", "the engineer", "the technician", "the team", "{who} in support", "our account manager"),
    "reliable": ("the connection", "the broadband", "the internet", "the line", "the service", "the speed"),
    "value": ("the price", "the package", "the cost", "pricing"),
    "quick_setup": ("the installation", "setup", "the install", "switching over", "getting connected"),
}
PREDICATES: dict[str, tuple[str, ...]] = {
    "speed": ("is so slow", "is painfully slow {when}", "crawls {when}", "is sluggish", "is far too slow",
              "is nowhere near what we pay for", "drops to a crawl {when}", "is really slow",
              "slows down {when}", "is slower than ever"),
    "outage": ("keeps dropping", "drops several times a day", "goes down every week", "cuts out {when}",
               "was down for {days} days", "keeps disconnecting", "is down more often than it is up",
               "dropped out again", "goes down without warning"),
    "support_wait": ("kept us on hold for {hours} hours", "never calls back", "takes days to answer",
                     "is impossible to reach", "is useless", "keeps us waiting for ages",
                     "ignored our ticket for {weeks} weeks", "is slow to respond"),
    "billing": ("is wrong every month", "has errors again", "charged us twice", "overcharged us by {amount}",
                "is full of incorrect charges", "does not match the contract", "is wrong again"),
    "installation": ("took {weeks} weeks", "was delayed again", "was cancelled twice",
                     "kept getting postponed", "took a month", "was late by {weeks} weeks"),
    "price": ("is too high", "went up again", "keeps rising every year", "is far too expensive",
              "doubled since we signed", "is hard to justify"),
    "router": ("keeps restarting", "is useless", "drops the wifi", "does not reach the back office",
               "overheats", "needs rebooting every day", "is weak"),
    "staff": ("were friendly and helpful", "was brilliant", "was really helpful", "is always polite",
              "went above and beyond", "were patient and kind", "is excellent"),
    "reliable": ("is rock solid", "never drops", "is fast and reliable", "has been reliable for years",
                 "just works", "is consistently fast", "is reliable"),
    "value": ("is good value", "is fair", "is very reasonable", "is good value for money",
              "is cheaper than elsewhere"),
    "quick_setup": ("was quick and easy", "was painless", "took less than a day", "was smooth",
                    "was done in an hour", "was easy"),
}
CHATTER = (
    "ok", "no comment", "n/a", "nothing to add", "fine", "it's fine", "average", "no", "none", ".",
    "as expected", "been with them for years", "we just moved offices", "no strong feelings", "it does the job",
    "not sure", "same as any provider", "nothing special", "it's a broadband provider", "meh",
    "I answered this survey last month", "we are a small office", "no reason", "happy enough",
)
OPENERS = ("Honestly, ", "To be honest ", "Overall ", "Well, ", "Where to start: ", "As a long time customer, ",
           "In short: ", "Frankly ", "Hmm. ", "Since we joined, ", "This year ", "Lately ")
CLOSERS_NEGATIVE = (
    "!", ". Will be leaving at renewal.", ". Very disappointing.", ". Not acceptable for a business line.",
    ". Sort it out.", "!!", ". We are considering other options.", ". This has cost us money.", ". Fed up.",
    ". Please fix this.", ". Not good enough.", ". Shocking.",
)
CLOSERS_PASSIVE = (". Could be better.", ". Mostly fine.", ". Room for improvement.", ". It's ok otherwise.",
                   ". We'll see.", "!")
CLOSERS_POSITIVE = ("!", ". Would recommend.", ". Keep it up.", ". Thanks!", ". Very happy.",
                    ". Would recommend to any business.", ". Great job.", ". Ten out of ten.", " :)")
NAMES = ("Sam", "Priya", "Tom", "Aisha", "Marek", "Jo", "Luis", "Hannah", "Kwame", "Sofia")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WHEN = ("in the evenings", "every afternoon", "at peak times", "during office hours", "most mornings",
        "when everyone is in the office")

# topic choice weights per answer class: (topics, weights)
TOPIC_WEIGHTS = {
    "detractor": {"speed": 22, "outage": 22, "support_wait": 18, "billing": 12, "installation": 9, "price": 10,
                  "router": 5, "staff": 1.5, "reliable": 0.3, "value": 0.3, "quick_setup": 0.2},
    "passive": {"speed": 8, "outage": 5, "support_wait": 6, "billing": 4, "installation": 3, "price": 14,
                "router": 4, "staff": 12, "reliable": 14, "value": 8, "quick_setup": 6},
    "promoter": {"speed": 0.8, "outage": 0.5, "support_wait": 1, "billing": 0.5, "installation": 0.5,
                 "price": 2, "router": 0.7, "staff": 30, "reliable": 30, "value": 17, "quick_setup": 14},
}


def fill(rng: random.Random, phrase: str) -> str:
    mbps = rng.choice((100, 200, 300, 500, 900, 1000))
    return phrase.format(
        n=rng.randint(2, 9), mbps=mbps, got=max(2, mbps // rng.randint(5, 25)), amount=f"£{rng.randint(20, 900)}",
        days=rng.randint(2, 6), weeks=rng.randint(3, 10), hours=rng.choice((1, 2, 3, 4, 6, 8, 12)),
        when=rng.choice(WHEN), who=rng.choice(NAMES), month=rng.choice(MONTHS),
    )


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip in a longer word: two letters swapped, one dropped or one doubled."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w, j = words[i], rng.randint(1, len(words[i]) - 2)
    kind = rng.randint(0, 2)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 1:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def say(rng: random.Random, topic: str) -> str:
    if rng.random() < 0.45:
        return rng.choice(PHRASES[topic])
    return rng.choice(SUBJECTS[topic]) + " " + rng.choice(PREDICATES[topic])


def pick_topics(rng: random.Random, cls: str) -> list[str]:
    weights = TOPIC_WEIGHTS[cls]
    n = rng.choices((1, 2, 3), weights=(68, 26, 6))[0]
    chosen: list[str] = []
    while len(chosen) < n:
        t = rng.choices(list(weights), weights=list(weights.values()))[0]
        if t not in chosen:
            chosen.append(t)
    return chosen


def compose(rng: random.Random, cls: str, extra: str | None = None) -> tuple[str, list[str]]:
    """A comment and the topics it was built from (none for chatter); `extra` is one more topic to mention."""
    if rng.random() < 0.10:
        return rng.choice(CHATTER), []
    topics = pick_topics(rng, cls)
    if extra and extra not in topics:
        topics.append(extra)
    clauses = [fill(rng, say(rng, t)) for t in topics]
    text = clauses[0]
    for t, clause in zip(topics[1:], clauses[1:], strict=True):
        prev_positive = topics[0] in PRAISES
        joiner = " but " if (t in PRAISES) != prev_positive else rng.choice((" and ", ", ", ". Also ", "; "))
        text += joiner + clause
    if rng.random() < 0.15:
        text = rng.choice(OPENERS) + text
    closers = {"promoter": CLOSERS_POSITIVE, "passive": CLOSERS_PASSIVE, "detractor": CLOSERS_NEGATIVE}[cls]
    text += rng.choice(closers) if rng.random() < 0.25 else rng.choice(("", "", "."))
    text = text[0].upper() + text[1:]
    for _ in range(rng.choices((0, 1, 2), weights=(82, 14, 4))[0]):
        text = typo(rng, text)
    if rng.random() < 0.05:
        text = text.lower()
    return text, topics


def score_for(rng: random.Random, cls: str) -> int:
    if cls == "detractor":
        return rng.choices(range(7), weights=(10, 8, 9, 10, 10, 14, 13))[0]
    if cls == "passive":
        return rng.choice((7, 8))
    return rng.choices((9, 10), weights=(55, 45))[0]


def main() -> None:
    rng = random.Random(SEED)
    segments = (("smb", 0.6, 3_000, 20_000), ("mid-market", 0.3, 20_000, 80_000),
                ("enterprise", 0.1, 80_000, 400_000))
    plans = ("fibre-100", "fibre-500", "fibre-1000")
    accounts = []
    for i in range(1, ACCOUNTS + 1):
        seg = rng.choices(segments, weights=[s[1] for s in segments])[0]
        start = AS_OF - dt.timedelta(days=rng.randint(60, 6 * 365))
        accounts.append({
            "account_id": f"B-{i:04d}", "name": f"Business {i:04d}", "segment": seg[0],
            "plan": rng.choice(plans), "arr": rng.randint(seg[2], seg[3]) // 100 * 100,
            "contract_start": start.isoformat(), "status": "active",
        })
    contacts = {a["account_id"]: [f"{a['account_id']}-C{j}" for j in range(1, rng.randint(5, 13))] for a in accounts}

    answers, truth = [], []
    for i in range(1, ANSWERS + 1):
        account = rng.choice(accounts)["account_id"]
        survey = rng.choices(("relationship", "transactional"), weights=(60, 40))[0]
        # after a support case the answer is lower on average, and about the support experience
        cls = rng.choices(("detractor", "passive", "promoter"),
                          weights=(62, 14, 24) if survey == "transactional" else (50, 19, 31))[0]
        comment, topics = ("", [])
        if rng.random() < 0.85:
            extra = None
            if survey == "transactional" and rng.random() < 0.3:
                extra = "support_wait" if cls == "detractor" else "staff"
            comment, topics = compose(rng, cls, extra)
        day = AS_OF - dt.timedelta(days=rng.randint(0, 364))
        answers.append({
            "response_id": f"R-{i:05d}", "account_id": account, "responded_at": day.isoformat(),
            "score": score_for(rng, cls), "contact_id": rng.choice(contacts[account]), "comment": comment,
            "survey": survey, "channel": rng.choices(("email", "sms", "web"), weights=(60, 25, 15))[0],
        })
        truth.append({"response_id": f"R-{i:05d}", "topics": " ".join(topics)})

    write(HERE / "accounts.csv", accounts)
    write(HERE / "nps.csv", answers)
    (HERE / "truth").mkdir(exist_ok=True)
    write(HERE / "truth" / "topics.csv", truth)


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        out.writeheader()
        out.writerows(rows)


if __name__ == "__main__":
    main()
