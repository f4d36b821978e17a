"""Comment themes on hand-written comment sets whose right themes are obvious, through the pure functions."""

import datetime as dt

import pytest

from cs_mcp.config import FeedbackSettings
from cs_mcp.domain.nps_text import Analyzer, fold_plural, naming_terms, theme_name
from cs_mcp.domain.nps_themes import Comment, comment_themes

DELIVERY = [
    "Delivery was late again, the parcel arrived a week after the promised date",
    "My order arrived two weeks late",
    "Late delivery every single time",
    "The courier never delivered on the promised day",
    "Deliveries are always late and nobody tells us why",
    "Our parcel was delayed for ten days",
    "Delivery took forever, the order was late",
    "Another late delivery, the parcel came days after the date we were given",
    "Orders keep arriving late",
    "The delivery date slipped three times and the parcel was late",
]
BILLING = [
    "We were billed twice for the same invoice",
    "The invoice was wrong again, we were charged twice",
    "Billing errors on every invoice",
    "Charged the wrong amount and the refund took months",
    "Our bill had charges we never agreed to",
    "The invoice does not match the contract, billing is a mess",
    "Wrong invoice again, billed for a cancelled order",
    "Double charged on the bill this month",
    "Billing mistakes every month, the invoice is always wrong",
    "They billed us the wrong amount twice",
]
STAFF = [
    "The staff are friendly and helpful",
    "Friendly, helpful staff who really care",
    "Lovely staff, always friendly on the phone",
    "The support staff were helpful and friendly",
    "Helpful staff who solved everything quickly",
    "Staff are always friendly",
    "Really friendly and helpful staff",
    "The staff member I spoke to was so helpful and friendly",
    "Great staff, friendly and helpful every time",
    "Friendly staff made it easy",
]
SPEED = [
    "The app is really slow",
    "Pages are slow to load and the speed is terrible",
    "So slow that we stopped using the app",
    "Slow speed all day, pages take ages",
    "Speed is awful, everything is slow",
    "The app is too slow for our team",
    "Very slow pages and poor speed",
    "Loading is slow, the speed keeps dropping",
    "Slow slow slow",
    "Terrible speed, the app is slow every morning",
]
OUTAGE = [
    "The service went down for a whole day, another outage",
    "Outages every week, the service is down again",
    "Another outage this morning, nothing worked",
    "The service was down for hours during the outage",
    "Too many outages, the service goes down constantly",
    "Frequent outages and the service is down when we need it",
    "A full outage last week took the service down",
    "Outage after outage",
    "The service keeps going down, third outage this month",
    "Service down again, outages are ruining our week",
]
CHATTER = ["ok", "n/a", "nothing to add", "no comment", "fine"]
# promoters who say nothing in particular: the promoter base the detractor themes are compared with
PRAISE = ["Love it", "Very happy", "Would recommend", "Great product overall", "Keeps getting better",
          "Does what we need", "No complaints", "Happy customer for years", "Works well for us", "Excellent",
          "Brilliant", "Ten out of ten", "Couldn't be happier", "Top notch", "Superb", "Really pleased",
          "Best in class", "Very satisfied", "Great value", "Amazing", "Fantastic", "Big fan", "Recommended it to "
          "friends", "Solid choice", "Exactly what we wanted", "Nothing to fix", "Five stars", "Delighted",
          "So glad we switched", "Keep it up"]


def _comments() -> list[Comment]:
    day = dt.date(2026, 6, 1)
    out = []
    for texts, side, score in ((DELIVERY, "detractor", 3), (BILLING, "detractor", 2), (SPEED, "detractor", 4),
                               (OUTAGE, "detractor", 1), (STAFF, "promoter", 10), (CHATTER, "passive", 7)):
        for i, text in enumerate(texts):
            out.append(Comment(text=text, side=side, account_id=f"A-{len(out):03d}", score=score,
                               responded_at=day + dt.timedelta(days=i)))
    # promoters who also say the app is fine: the promoter base the contrast compares with
    for i, text in enumerate(PRAISE):
        out.append(Comment(text=text, side="promoter", account_id=f"P-{i}", score=9, responded_at=day))
    return out


SETS = {"delivery": DELIVERY, "billing": BILLING, "staff": STAFF, "speed": SPEED, "outage": OUTAGE}


@pytest.fixture(scope="module")
def found():
    return comment_themes(_comments(), FeedbackSettings(themes={}))


def _theme_of(found, texts):
    """The theme most of these comments land in, and how many land there."""
    comments = _comments()
    landed = [found.primary[i] for i, c in enumerate(comments) if c.text in texts]
    best = max(set(landed) - {None}, key=landed.count)
    return best, landed.count(best)


def test_each_obvious_theme_is_found_and_holds_its_comments(found):
    assert found.coverage.method == "discovered"
    themes = {}
    for name, texts in SETS.items():
        theme, n = _theme_of(found, texts)
        assert n >= 8, (name, theme, n)  # at least 8 of the 10 land together
        themes[name] = theme
    assert len(set(themes.values())) == 5  # five different themes
    assert found.primary[_comments().index(next(c for c in _comments() if c.text == "My order arrived two weeks "
                                                                                      "late"))] == themes["delivery"]


def test_themes_are_named_by_their_top_terms(found):
    by_name = {t.theme: t for t in found.themes}
    words = {name: " ".join(by_name[_theme_of(found, texts)[0]].top_terms[:3]) for name, texts in SETS.items()}
    assert "late" in words["delivery"] or "deliver" in words["delivery"]
    assert "bill" in words["billing"] or "invoice" in words["billing"]
    assert "friendly" in words["staff"] or "staff" in words["staff"]
    assert "slow" in words["speed"] or "speed" in words["speed"]
    assert "outage" in words["outage"] or "down" in words["outage"]


def test_coverage_counts_the_comments_in_a_theme_and_chatter_is_other(found):
    cov = found.coverage
    assert cov.comments == 85 and cov.covered + cov.other == 85
    themed = sum(len(t) for t in SETS.values())
    assert cov.covered >= 0.9 * themed  # the generic promoter lines ('Love it') may join a theme or not
    comments = _comments()
    for i, c in enumerate(comments):
        if c.text in CHATTER:
            assert found.primary[i] is None, c.text
    assert cov.other_passives == len(CHATTER)  # every chatter comment, all passives, is 'other'


def test_detractor_and_promoter_drivers_are_significant_and_signed(found):
    by_name = {t.theme: t for t in found.themes}
    billing = by_name[_theme_of(found, BILLING)[0]]
    # about 10 of 40 detractor comments vs none or nearly none of 40 promoter comments
    assert billing.share_of_detractor_comments == pytest.approx(0.25, abs=0.05)
    assert billing.share_of_promoter_comments <= 0.1  # a short generic line or two may sit near any theme
    assert billing.z > 0 and billing.p_value <= 0.05 and billing.driver_of == "detractors"
    staff = by_name[_theme_of(found, STAFF)[0]]
    assert staff.z < 0 and staff.p_value <= 0.05 and staff.driver_of == "promoters"
    assert staff.share_of_promoter_comments == pytest.approx(0.25, abs=0.05)


def test_quotes_are_the_comments_closest_to_their_theme_those_saying_its_name_first(found):
    from cs_mcp.domain.nps_text import Analyzer

    analyzer = Analyzer(FeedbackSettings().theme_stop_words)

    by_name = {t.theme: t for t in found.themes}
    for name, texts in SETS.items():
        theme = by_name[_theme_of(found, texts)[0]]
        assert len(theme.examples) == 3
        assert all(q.text in texts for q in theme.examples), (name, [q.text for q in theme.examples])
        # a term of the name (a word, or a word pair as one term), read by the themes' own analyzer
        name_terms = {max(analyzer(part), key=lambda t: len(t.split())) for part in theme.theme.split(", ")}
        said = [bool(name_terms & set(analyzer(q.text))) for q in theme.examples]
        assert said == sorted(said, reverse=True), (theme.theme, [q.text for q in theme.examples])
        for flag in (True, False):
            sims = [q.similarity for q, s in zip(theme.examples, said, strict=True) if s == flag]
            assert sims == sorted(sims, reverse=True)


def test_the_same_comments_give_the_same_themes():
    a = comment_themes(_comments(), FeedbackSettings(themes={}))
    b = comment_themes(_comments(), FeedbackSettings(themes={}))
    assert [t.model_dump() for t in a.themes] == [t.model_dump() for t in b.themes]
    assert a.primary == b.primary and a.coverage == b.coverage


def test_a_seed_whose_keywords_the_comments_match_names_the_theme():
    seeds = {"billing": ["bill*", "invoice*", "charge*"], "onboarding": ["onboard*", "training"]}
    found = comment_themes(_comments(), FeedbackSettings(themes=seeds))
    theme = next(t for t in found.themes if t.seed == "billing")
    assert theme.theme == "billing" and theme.seed_match >= 0.5
    assert any(w in " ".join(theme.top_terms) for w in ("bill", "invoice", "charge"))
    assert not any(t.seed == "onboarding" for t in found.themes)  # no comment is about onboarding


def test_with_too_few_comments_the_seed_keywords_are_the_themes():
    few = _comments()[:12]
    found = comment_themes(few, FeedbackSettings(themes={"delivery": ["deliver*", "late"]}))
    assert found.coverage.method == "keywords" and "fewer than feedback.theme_min_comments" in found.coverage.reason
    assert [t.theme for t in found.themes] == ["delivery"]
    assert found.themes[0].mentions == 9  # 'Our parcel was delayed for ten days' names neither keyword


def test_the_number_of_themes_stays_within_its_bounds():
    found = comment_themes(_comments(), FeedbackSettings(themes={}, theme_k_min=2, theme_k_max=3))
    assert found.coverage.k <= 3 and len(found.themes) <= 3
    assert [c.k for c in found.coverage.candidates] == [2, 3]


def test_normalisation_folds_case_accents_plurals_and_negations():
    a = Analyzer()
    assert a("The OUTAGES didn't stop, café closed") == [
        "outage", "stop", "cafe", "closed", "not stop", "stop cafe", "cafe closed"
    ]  # 'did' is a stop word; a negation starts pairs but never ends one or stands alone
    assert a.readable("outage") == "outages" or a.readable("outage") == "outage"
    assert (fold_plural("companies"), fold_plural("address"), fold_plural("status"), fold_plural("bus")) == (
        "company", "address", "status", "bus"
    )


def test_theme_names_prefer_a_word_pair_to_its_words():
    assert theme_name(["slow", "speed", "slow speed", "app"], set()) == ("slow speed", ["slow speed"])
    assert theme_name(["service", "customer service", "hold"], set())[0] == "customer service, hold"
    assert theme_name(["late", "delivery", "parcel"], {"late, delivery"})[0] == "late, delivery, parcel"
    assert theme_name(["late", "delivery"], {"late, delivery"})[0] == "late, delivery (2)"


def test_a_theme_is_not_named_by_feelings_or_filler_words():
    ranked = ["good", "bugs", "good bugs", "really good", "release"]
    assert naming_terms(ranked) == ["bugs", "good bugs", "release"]  # a pair keeps its topic word
    assert theme_name(naming_terms(["great", "see", "export", "fails"]), set())[0] == "export, fails"
    assert naming_terms(["great", "love"]) == ["great", "love"]  # nothing else to name it by
