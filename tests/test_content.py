import re

import pytest

from cs_mcp.config import Settings, load_settings
from cs_mcp.content import ContentError, Document, PromptArgument, get_document, load_documents, render

SPEC_TOOLS = {
    "health-score", "churn-risk-list", "renewal-forecast", "expansion-opportunities", "nps-analysis",
    "customer-segments", "engagement-report", "csm-performance", "account-review-prep",
    "escalation-analysis", "onboarding-plan", "renewal-strategy", "retention-metrics", "find-accounts",
}
SPEC_NAMES = {
    "skill": {
        "customer-success", "customer-health-scoring", "churn-prediction-models", "expansion-analysis",
        "segmentation-methods", "nps-analysis", "engagement-scoring", "customer-journey-mapping",
    },
    "template": {"onboarding-checklist", "health-score-framework", "renewal-playbook"},
    "prompt": {
        "onboarding-coordinator", "health-monitor", "renewal-strategist", "customer-health-scorer",
        "churn-predictor", "expansion-opportunity-identifier", "customer-segmentation-analyst",
        "csm-performance-analyzer", "weekly-at-risk-review", "qbr-preparation", "expansion-campaign",
        "new-customer-onboarding", "at-risk-recovery", "renewal-preparation",
    },
}
ALL_DOCS = [doc for kind in ("skill", "template", "prompt") for doc in load_documents(kind)]
PROMPTS = load_documents("prompt")
OPERATIONS = load_settings(overrides={"health": {"model": "operations"}})


def _doc(body: str, arguments: tuple[PromptArgument, ...] = ()) -> Document:
    return Document("example", "prompt", "Example", "An example.", body, arguments, ())


@pytest.mark.parametrize("kind", sorted(SPEC_NAMES))
def test_every_document_the_spec_names_exists_with_title_and_description(kind):
    docs = load_documents(kind)
    assert {d.name for d in docs} == SPEC_NAMES[kind]
    assert all(d.title and d.description and "{{" not in d.description for d in docs)


@pytest.mark.parametrize("settings", [Settings(), OPERATIONS], ids=["default", "operations"])
@pytest.mark.parametrize("doc", ALL_DOCS, ids=lambda d: f"{d.kind}:{d.name}")
def test_every_document_renders_with_no_placeholder_left(doc, settings):
    text = render(doc, settings)
    assert "{{" not in text and "}}" not in text
    assert len(text.splitlines()) >= 20


@pytest.mark.parametrize("doc", [d for d in ALL_DOCS if d.kind == "skill"], ids=lambda d: d.name)
def test_skills_are_substantial_modules(doc):
    assert 80 <= len(doc.body.splitlines()) <= 200


def test_health_score_framework_shows_the_default_model_weights_and_bands():
    text = render(get_document("template", "health-score-framework"), Settings())
    for row in ("| Usage | 30 |", "| Engagement | 25 |", "| Support | 20 |", "| Satisfaction | 15 |",
                "| Financial | 10 |"):
        assert row in text
    assert "| Green | 80-100 |" in text and "| Red | below 50 |" in text
    seats = "| active users / licensed seats (28 days) | 12 | 12 | ≤0.2: 0% · 0.5: 50% · ≥0.8: 100% |"
    assert seats in text


def test_health_score_framework_follows_the_operations_preset():
    text = render(get_document("template", "health-score-framework"), OPERATIONS)
    assert "Active model: **operations**" in text
    assert "| Usage | 35 |" in text and "| Sentiment | 25 |" in text and "| Support |" not in text
    assert "| Green | 80-100 |" in text and "| Yellow | 60 to below 80 |" in text
    assert "| enterprise | 30 | 30 | 25 | 15 |" in text and "| smb | 40 | 20 | 25 | 15 |" in text


def test_health_score_framework_shows_a_custom_weight_and_curve():
    settings = Settings()
    settings.health.models["default"].dimensions["usage"].weight = 42
    settings.health.curves["seat_utilization"] = [(0.1, 0.0), (0.9, 1.0)]
    text = render(get_document("template", "health-score-framework"), settings)
    assert "| Usage | 42 |" in text and "| Engagement | 25 |" in text
    assert "≤0.1: 0% · ≥0.9: 100%" in text


def test_renewal_playbook_shows_the_configured_timeline_and_tiers():
    default = render(get_document("template", "renewal-playbook"), Settings())
    assert all(f"### T-{d}:" in default for d in (120, 90, 60, 30, 0))
    assert "10% discount" in default and "above 85% utilisation" in default
    custom = render(get_document("template", "renewal-playbook"), load_settings(overrides={"renewal": {
        "timeline_days": [150, 100, 70, 40, 5], "multi_year_discount_pct": 12.5,
        "probability_tiers": {"high_confidence": 92, "likely": 80, "at_risk": 55},
    }}))
    assert all(f"### T-{d}:" in custom for d in (150, 100, 70, 40, 5))
    assert "### T-120:" not in custom
    assert "12.5% discount" in custom and "| Likely | 80% to below 92% |" in custom


def test_numbers_render_plainly_with_pct_and_money_filters():
    text = render(_doc("{{ health.active.bands.green }} {{ targets.grr | pct }} {{ targets.nrr|pct }} "
                       "{{ segments.value_tiers.strategic | money }} {{ health.trend.fast_decline_per_day }} "
                       "{{ renewal.timeline_days }} {{ health.alerts.executive_sponsor_left }}"), Settings())
    assert text == "80 90% 110% $50K -0.5 120, 90, 60, 30, 0 yes"


def test_an_unknown_placeholder_raises_an_error_naming_the_file_and_placeholder():
    with pytest.raises(ContentError, match=r"prompts/playbooks/example\.md.*health\.bands\.purple"):
        render(_doc("Green from {{ health.bands.purple }}."), Settings())


@pytest.mark.parametrize("body", ["{{ targets | pct }}", "{{ targets.grr | upper }}", "{{ table: targets }}",
                                  "{{ args.account }}"])
def test_a_group_an_unknown_filter_a_bad_table_or_an_undeclared_argument_is_an_error(body):
    with pytest.raises(ContentError, match="example.md"):
        render(_doc(body), Settings())


def test_prompt_arguments_fill_their_placeholders_and_render_empty_when_not_given():
    args = (PromptArgument("account", "", True, "account"), PromptArgument("segment", "", False, "segment"))
    doc = _doc("Account: {{ args.account }}; segment: {{ args.segment }}.", args)
    assert render(doc, Settings(), {"account": "Acme Corp"}) == "Account: Acme Corp; segment: ."
    with pytest.raises(ContentError, match="no argument"):
        render(doc, Settings(), {"acount": "Acme"})


def test_a_real_prompt_includes_its_arguments():
    doc = get_document("prompt", "renewal-strategist")
    assert "Account: Acme Corp" in render(doc, Settings(), {"account": "Acme Corp"})


@pytest.mark.parametrize("doc", PROMPTS, ids=lambda d: d.name)
def test_every_prompt_declares_spec_tools_and_calls_exactly_those(doc):
    assert doc.tools and set(doc.tools) <= SPEC_TOOLS
    mentioned = {t for t in SPEC_TOOLS if f"`{t}`" in doc.body}
    assert mentioned == set(doc.tools)


@pytest.mark.parametrize("doc", PROMPTS, ids=lambda d: d.name)
def test_every_prompt_argument_is_described_and_used(doc):
    for arg in doc.arguments:
        assert arg.description and arg.complete in (None, "account", "segment", "csm")
        assert re.search(r"\{\{\s*args\." + arg.name + r"\s*\}\}", doc.body)


def test_every_resource_a_document_links_to_exists():
    names = {(d.kind, d.name) for d in ALL_DOCS}
    for doc in ALL_DOCS:
        for kind, name in re.findall(r"cs://(skills|templates)/([a-z-]+)", doc.body):
            assert (kind[:-1], name) in names, f"{doc.file} links to missing cs://{kind}/{name}"


def test_an_unknown_document_name_lists_the_known_ones():
    with pytest.raises(ContentError, match="customer-success"):
        get_document("skill", "customer-sucess")


def test_every_tool_or_prompt_a_document_names_exists():
    known = SPEC_TOOLS | SPEC_NAMES["prompt"]
    for doc in ALL_DOCS:
        for name in re.findall(r"`([a-z]+(?:-[a-z]+)+)`", doc.body):
            assert name in known, f"{doc.file} names unknown tool or prompt {name!r}"
