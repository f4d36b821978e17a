"""The portfolio view (MCP Apps): served as a ui:// resource, linked from three tools, drawn in a real browser."""

import json
from pathlib import Path

import pytest
from chromium import Chromium, find_chromium
from mcp import Client
from mcp.client.extension import advertise

from cs_mcp.apps import VIEW_TOOLS, VIEW_URI, embedded_json, portfolio_html, standalone_html
from cs_mcp.domain.churn import ChurnRiskList
from cs_mcp.domain.formatting import money, pct, pct1
from cs_mcp.domain.renewal import RenewalForecast
from cs_mcp.domain.retention import RetentionReport

FIXTURES = Path(__file__).parent / "fixtures" / "dashboard"
MODELS = {"churn-risk-list": ChurnRiskList, "renewal-forecast": RenewalForecast, "retention-metrics": RetentionReport}
APP_MIME = "text/html;profile=mcp-app"
APPS_CLIENT = advertise("io.modelcontextprotocol/ui", {"mimeTypes": [APP_MIME]})


def fixture(tool: str) -> dict:
    """A result the tool computed on the tiny workspace, checked against today's output model."""
    data = json.loads((FIXTURES / f"{tool}.json").read_text())
    MODELS[tool].model_validate(data)  # a schema change that the view has not followed fails here
    return data


# ---- the MCP surface


@pytest.mark.anyio
async def test_the_view_is_a_listed_readable_ui_resource(client):
    listed = {str(r.uri): r for r in (await client.list_resources()).resources}
    assert listed[VIEW_URI].mime_type == APP_MIME
    read = await client.read_resource(VIEW_URI)
    page = read.contents[0]
    assert page.mime_type == APP_MIME
    assert page.text == portfolio_html()
    assert page.text.startswith("<!DOCTYPE html>") and "/*cs-script*/" not in page.text
    assert page.meta == {"ui": {"prefersBorder": True}}


@pytest.mark.anyio
async def test_exactly_the_three_portfolio_tools_link_the_view(client):
    linked = {t.name: (t.meta or {}).get("ui") for t in (await client.list_tools()).tools}
    assert {name for name, ui in linked.items() if ui} == set(VIEW_TOOLS)
    assert all(linked[name] == {"resourceUri": VIEW_URI} for name in VIEW_TOOLS)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_clients_with_and_without_apps_get_the_same_text_answer(tiny_server, mode):
    from cs_mcp.tools.churn import render_churn_list

    apps_client = Client(tiny_server, mode=mode, extensions=[APPS_CLIENT])
    async with Client(tiny_server, mode=mode) as plain, apps_client as apps:
        without = await plain.call_tool("churn-risk-list", {})
        with_apps = await apps.call_tool("churn-risk-list", {})
    assert not without.is_error and not with_apps.is_error
    expected = render_churn_list(ChurnRiskList.model_validate(without.structured_content))
    assert without.content[0].text == with_apps.content[0].text == expected
    assert without.structured_content == with_apps.structured_content


def test_a_server_without_the_portfolio_tools_offers_no_view(tiny_workspace):
    from cs_mcp.apps import apps_extension

    assert apps_extension(["health-score", "find-accounts"]) == []
    assert len(apps_extension(["health-score", "retention-metrics"])) == 1


def test_embedded_results_cannot_close_the_script_element():
    hostile = {"name": "</script><script>alert(1)</script> <!-- & Zoë"}
    text = embedded_json(hostile)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == hostile
    page = standalone_html([{"tool": "x", "structuredContent": hostile}], "Report </title><b>")
    assert page.count("</script>") == portfolio_html().count("</script>") + 1
    assert "<title>Report &lt;/title&gt;&lt;b&gt;</title>" in page


# ---- in a real browser

READ_VIEW = """
(doc => {
  const text = n => n ? n.textContent.trim() : null;
  const out = {};
  doc.querySelectorAll('section[data-view]').forEach(s => {
    const v = out[s.dataset.view] = {kpis: {}, bars: {}, steps: {}, metrics: {}, rows: []};
    s.querySelectorAll('[data-kpi]').forEach(k => v.kpis[k.dataset.kpi] = [text(k.querySelector('.value')),
                                                                         text(k.querySelector('.detail'))]);
    s.querySelectorAll('g[data-band], g[data-tier], g[data-scenario], g[data-category]').forEach(g => {
      const key = g.dataset.band || g.dataset.tier || g.dataset.scenario || g.dataset.category;
      v.bars[key] = text(g.querySelector('text.value'));
    });
    s.querySelectorAll('g[data-step]').forEach(g => v.steps[g.dataset.step] = text(g.querySelector('text.value')));
    s.querySelectorAll('g[data-metric]').forEach(g => v.metrics[g.dataset.metric] = [
      text(g.querySelector('text.value')), text(g.querySelector('text.soft'))]);
    s.querySelectorAll('tr[data-account]').forEach(r => v.rows.push({
      id: r.dataset.account, name: text(r.querySelector('strong')),
      probability: text(r.querySelector('[data-field=probability]')),
      arr_at_risk: text(r.querySelector('[data-field=arr-at-risk]')),
      drivers: [...r.querySelectorAll('li')].map(text)}));
  });
  return out;
})
"""

WAIT_FOR = """
new Promise(resolve => {
  const done = () => %s;
  if (done()) return resolve(true);
  new MutationObserver(() => done() && resolve(true)).observe(document, {attributes: true, subtree: true});
})
"""


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine: `apt-get install -y chromium` (Debian's package; .ci/run does it)")
    b = Chromium(executable)
    yield b
    b.close()


def _keep_screenshot(b: Chromium, tmp_path: Path, name: str) -> Path:
    shot = b.screenshot(tmp_path / name)
    print(f"\nscreenshot: {shot}")  # noqa: T201  (the artifact's path, in the test output)
    assert shot.stat().st_size > 10_000  # a drawn page, not a blank one
    return shot


def test_the_standalone_page_draws_the_fixture_numbers(browser, tmp_path):
    results = [{"tool": t, "structuredContent": fixture(t)} for t in MODELS]
    page = tmp_path / "report.html"
    page.write_text(standalone_html(results, "Weekly at-risk review", "tiny workspace"), encoding="utf-8")
    browser.open(page.as_uri())
    browser.evaluate(WAIT_FOR % "document.documentElement.getAttribute('data-rendered') === '3'")
    seen = browser.evaluate(READ_VIEW + "(document)")
    _keep_screenshot(browser, tmp_path, "dashboard-standalone.png")

    churn = seen["churn"]
    assert churn["kpis"] == {"accounts": ["2", None], "arr-at-risk": ["$83.9K", "of $128K"],
                             "at-risk-renewals": ["2", "$128K ARR"]}
    assert churn["bars"] == {"green": "0 · $0", "yellow": "1 · $120K", "red": "1 · $8,000",
                             "critical": "0 · $0 at risk", "high": "2 · $83.9K at risk",
                             "medium": "0 · $0 at risk", "low": "0 · $0 at risk"}
    assert [(r["id"], r["name"], r["probability"], r["arr_at_risk"]) for r in churn["rows"]] == [
        ("A-2", "Globex", "71%", "$5,672"), ("A-1", "Acme Corp", "65%", "$78.3K")]
    assert churn["rows"][1]["drivers"] == ["executive sponsor left, no successor", "critical ticket open 240 hours",
                                           "NPS detractor (answered 6) in 90 days"]

    renewal = seen["renewal"]
    assert renewal["kpis"]["forecast-base"] == ["$44.1K", "best $128K · worst $0"]
    assert renewal["steps"] == {"start": "$128K", "churn": "−$83.9K", "contraction": "−$0",
                                "expansion": "+$0", "end": "$44.1K"}
    assert renewal["bars"]["best"] == "$128K" and renewal["bars"]["worst"] == "$0"
    assert renewal["bars"]["high_risk"] == "2 · $128K"
    assert renewal["metrics"]["grr"] == ["34.4%", "target 90.0%: below by 55.6 pts"]
    assert renewal["metrics"]["nrr"] == ["34.4%", "target 110.0%: below by 75.6 pts"]
    assert [r["probability"] for r in renewal["rows"]] == ["34.8%", "29.1%"]

    retention = seen["retention"]
    assert retention["metrics"]["grr"] == ["76.9%", "target 90.0%: below by 13.1 pts"]
    assert retention["metrics"]["nrr"] == ["92.3%", "target 110.0%: below by 17.7 pts"]
    assert retention["metrics"]["logo_retention"] == ["50.0%", "target 90.0%: below by 40.0 pts"]
    assert retention["metrics"]["expansion_rate"] == ["15.4%", "target 15.0%: met"]
    assert retention["metrics"]["average_health"] == ["52.5", "target 75.0: below by 22.5"]
    assert retention["steps"] == {"start": "$130K", "new": "+$0", "expansion": "+$20K", "contraction": "−$0",
                                  "churn": "−$30K", "end": "$120K"}
    assert browser.console_errors() == []
    assert all(u.startswith(("file:", "data:", "about:")) for u in browser.requested_urls())  # nothing fetched


def test_account_text_is_shown_as_text_never_run_as_markup(browser, tmp_path):
    churn = fixture("churn-risk-list")
    churn["accounts"][0]["name"] = '<img src=x onerror="document.title=\'pwned\'">Zoë & "Co", Ltd'
    churn["accounts"][0]["drivers"][0]["text"] = "</script><b>bold</b>"
    page = tmp_path / "hostile.html"
    page.write_text(standalone_html([{"tool": "churn-risk-list", "structuredContent": churn}], "Hostile"))
    browser.open(page.as_uri())
    browser.evaluate(WAIT_FOR % "document.documentElement.getAttribute('data-rendered') === '1'")
    seen = browser.evaluate(READ_VIEW + "(document)")
    assert seen["churn"]["rows"][0]["name"] == '<img src=x onerror="document.title=\'pwned\'">Zoë & "Co", Ltd'
    assert seen["churn"]["rows"][0]["drivers"][0] == "</script><b>bold</b>"
    assert browser.evaluate("document.querySelectorAll('main img, main b').length") == 0
    assert browser.evaluate("document.title") == "Hostile"


def test_the_view_formats_numbers_exactly_as_the_text_answers(browser, tmp_path):
    page = tmp_path / "empty.html"
    page.write_text(standalone_html([], "Formats"))
    browser.open(page.as_uri())
    values = [0, 5, 999.5, 1000.5, 2500, 9870.4, 9999.5, 10000, 12345, 99950, 99999, 100000, 123456, 999499,
              999500, 1000000, 1234567, 1005000, -5000, -123456, 0.125, 2.5, 83924.54]
    shares = [0, 0.001, 0.125, 0.1255, 0.345, 0.5, 0.705, 0.9999, 1, 1.1, 0.769231]
    script = "({0}).map(csPortfolio.money).concat(({1}).map(csPortfolio.pct), ({1}).map(csPortfolio.pct1))"
    js = browser.evaluate(script.format(json.dumps(values), json.dumps(shares)))
    assert js == [money(v) for v in values] + [pct(v) for v in shares] + [pct1(v) for v in shares]


HOST_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>test host</title></head><body>
<iframe id="view" sandbox="allow-scripts allow-same-origin" style="width:1000px;height:200px;border:0"></iframe>
<script type="application/json" id="payload">%s</script>
<script>
// A minimal MCP Apps host: answers ui/initialize, then sends the tool input and result, records sizes.
var payload = JSON.parse(document.getElementById("payload").textContent);
var frame = document.getElementById("view");
window.hostLog = [];
function send(message) { frame.contentWindow.postMessage(message, "*"); }
window.addEventListener("message", function (event) {
  if (event.source !== frame.contentWindow) return;
  var m = event.data;
  window.hostLog.push(m.method || "response");
  if (m.method === "ui/initialize") {
    window.initParams = m.params;
    send({jsonrpc: "2.0", id: m.id, result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
          hostCapabilities: {}, hostContext: {theme: "dark", displayMode: "inline",
          styles: {variables: {"--color-background-primary": "rgb(10, 20, 30)"}}}}});
  } else if (m.method === "ui/notifications/initialized") {
    send({jsonrpc: "2.0", method: "ui/notifications/tool-input", params: {arguments: payload.arguments}});
    send({jsonrpc: "2.0", method: "ui/notifications/tool-result", params: payload.result});
  } else if (m.method === "ui/notifications/size-changed") {
    window.lastSize = m.params;
    frame.style.height = m.params.height + "px";  // as a real host does with a flexible height
    var doc = frame.contentDocument;
    if (doc && doc.documentElement.getAttribute("data-rendered") === "1") document.body.setAttribute("data-done", "1");
  }
});
frame.srcdoc = payload.html;
</script></body></html>
"""


@pytest.mark.anyio
async def test_an_apps_host_gets_the_view_and_the_live_result_drawn(browser, tiny_server, tmp_path):
    async with Client(tiny_server, extensions=[APPS_CLIENT]) as c:
        html = (await c.read_resource(VIEW_URI)).contents[0].text
        arguments = {"days": 365}
        result = await c.call_tool("renewal-forecast", arguments)
    forecast = RenewalForecast.model_validate(result.structured_content)
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    page = tmp_path / "host.html"
    page.write_text(HOST_PAGE % embedded_json({"html": html, "arguments": arguments, "result": wire}),
                    encoding="utf-8")
    browser.open(page.as_uri())
    browser.evaluate(WAIT_FOR % "document.body && document.body.getAttribute('data-done') === '1'")
    seen = browser.evaluate(READ_VIEW + "(document.getElementById('view').contentDocument)")
    _keep_screenshot(browser, tmp_path, "dashboard-in-host.png")

    renewal = seen["renewal"]
    up = f"{money(forecast.arr_up_for_renewal)} ARR up for renewal"
    assert renewal["kpis"]["renewals"] == [str(forecast.renewals), up]
    assert renewal["steps"]["end"] == money(forecast.waterfall.end_arr)
    assert renewal["metrics"]["grr"][0] == pct1(forecast.metrics["grr"].value)
    assert [r["id"] for r in renewal["rows"]] == [r.account_id for r in forecast.accounts]
    log = browser.evaluate("window.hostLog")
    assert log[:2] == ["ui/initialize", "ui/notifications/initialized"]
    assert browser.evaluate("window.initParams.protocolVersion") == "2026-01-26"
    assert browser.evaluate("window.lastSize.height") > 300
    # the host's theme reached the view
    view_bg = "getComputedStyle(document.getElementById('view').contentDocument.body).backgroundColor"
    assert browser.evaluate(view_bg) == "rgb(10, 20, 30)"


def test_the_weekly_report_command_writes_the_view_with_live_results(browser, tiny_workspace, tmp_path, capsys):
    import re

    from cs_mcp.cli import run
    from cs_mcp.domain.churn import churn_risk_list
    from cs_mcp.domain.retention import retention_metrics

    out = tmp_path / "report.html"
    assert run(["report", "weekly-at-risk", "--data", str(tiny_workspace.path), "--out", str(out)]) == 0
    assert "churn-risk-list: 2 of 2 rows" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="cs-data">(.*?)</script>', page, re.S).group(1))
    assert data["title"] == "Weekly at-risk review"
    by_tool = {r["tool"]: r["structuredContent"] for r in data["results"]}
    assert list(by_tool) == ["churn-risk-list", "renewal-forecast", "retention-metrics"]
    expected = churn_risk_list(tiny_workspace, limit=25)
    assert by_tool["churn-risk-list"]["total_arr_at_risk"] == expected.total_arr_at_risk
    grr = retention_metrics(tiny_workspace).metrics["grr"].value
    assert by_tool["retention-metrics"]["metrics"]["grr"]["value"] == grr
    browser.open(out.as_uri())
    browser.evaluate(WAIT_FOR % "document.documentElement.getAttribute('data-rendered') === '3'")
    seen = browser.evaluate(READ_VIEW + "(document)")
    assert seen["churn"]["kpis"]["arr-at-risk"][0] == money(expected.total_arr_at_risk)
    _keep_screenshot(browser, tmp_path, "weekly-report.png")


def test_the_report_command_refuses_a_missing_workspace(tmp_path, capsys):
    from cs_mcp.cli import run

    assert run(["report", "weekly-at-risk", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
