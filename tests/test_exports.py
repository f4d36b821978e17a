"""Exports: every list tool's whole list as a CSV / XLSX resource, and `cs-mcp export` for cron jobs."""

import csv
import io
import zipfile
from xml.etree import ElementTree

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from cs_mcp.exports import ExportStore, Table, model_columns, safe_text, table, to_csv, to_xlsx

# (tool, arguments, where the answer's page sits, the row model's name): every list tool
LIST_CALLS = [
    ("churn-risk-list", {}, ""),
    ("find-accounts", {"query": "a"}, ""),
    ("renewal-forecast", {"days": 365}, ""),
    ("expansion-opportunities", {}, ""),
    ("customer-segments", {"scheme": "value_tier", "segment_detail": "Growth"}, "detail"),
    ("nps-analysis", {}, "followup"),
    ("escalation-analysis", {}, ""),
    ("engagement-report", {}, "portfolio"),
    ("csm-performance", {}, ""),
    ("retention-metrics", {"by": "segment"}, "groups_page"),
]


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def link_of(result):
    links = [c for c in result.content if c.type == "resource_link"]
    assert len(links) == 1
    return links[0]


# ---- files, on hand-made tables


def test_csv_quotes_commas_quotes_line_breaks_and_keeps_unicode():
    cells = ['Acme, Inc.', 'say "hi"', "two\nlines", "crlf\r\nend", "Zoë Ünïcødé 東京 🚀", "", "plain"]
    t = Table([f"c{i}" for i in range(len(cells))], [cells, [1, -2.5, True, False, None, 0, "x"]])
    data = to_csv(t)
    text = data.decode("utf-8")
    assert '"Acme, Inc."' in text and '"say ""hi"""' in text and '"two\nlines"' in text
    rows = parse_csv(text)
    assert rows[1] == cells
    assert rows[2] == ["1", "-2.5", "TRUE", "FALSE", "", "0", "x"]
    assert text.endswith("\r\n") and text.count("\r\n") == 4  # 3 records; one CRLF inside a quoted cell


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("http://x")'])
def test_text_that_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(cell):
    rows = parse_csv(to_csv(Table(["name"], [[cell]])).decode())
    assert rows[1] == ["'" + cell]
    assert safe_text("Acme =1") == "Acme =1"  # only a leading sign is a formula


def test_numbers_are_never_prefixed_even_negative():
    assert parse_csv(to_csv(Table(["arr"], [[-5000], [-0.25]])).decode())[1:] == [["-5000"], ["-0.25"]]


def read_xlsx(data: bytes) -> tuple[list[list[object]], list[ElementTree.Element]]:
    """Cell values of the first sheet (strings resolved, numbers as floats), and its cells."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t")) for si in root.findall("m:si", ns)]
        sheet = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    cells = list(sheet.iter(f"{{{ns['m']}}}c"))
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        values: list[object] = []
        for c in row.findall("m:c", ns):
            v = c.find("m:v", ns)
            kind = c.get("t")
            if kind == "s":
                values.append(shared[int(v.text)])
            elif kind == "inlineStr":
                values.append("".join(t.text or "" for t in c.iter(f"{{{ns['m']}}}t")))
            elif kind == "b":
                values.append(v.text == "1")
            else:
                values.append(float(v.text))
        rows.append(values)
    return rows, cells


def test_xlsx_keeps_text_as_text_and_numbers_as_numbers():
    t = Table(["name", "arr", "renews", "won"], [["=1+1 Zoë, \"Co\"", 120000.5, "2026-08-15", True],
                                                 ["http://example.com", -3, "x\ny", False]])
    rows, cells = read_xlsx(to_xlsx(t, "churn-risk-list"))
    assert rows == [["name", "arr", "renews", "won"], ["=1+1 Zoë, \"Co\"", 120000.5, "2026-08-15", True],
                    ["http://example.com", -3.0, "x\ny", False]]
    assert not [c for c in cells if c.find("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}f") is not None]


class Inner(BaseModel):
    stage: str
    day: int


class Row(BaseModel):
    id: str
    timeline: Inner
    drivers: list[dict]
    tags: list[str]
    scores: dict[str, float]


def test_rows_flatten_to_dotted_columns_and_joined_lists():
    drivers = [{"text": "a b"}, {"text": "c", "direction": "lowers risk"}]
    rows = [Row(id="A-1", timeline=Inner(stage="T-60", day=3), drivers=drivers, tags=["x", "y"], scores={"usage": 1.5})]
    t = table(rows, Row)
    assert t.columns == ["id", "timeline.stage", "timeline.day", "drivers", "tags", "scores.usage"]
    assert t.rows == [["A-1", "T-60", 3, "a b; (+) c", "x; y", 1.5]]  # (+): a reason the risk is low
    assert table([], Row).columns == model_columns(Row) == ["id", "timeline.stage", "timeline.day", "drivers", "tags",
                                                            "scores"]


def test_the_store_keeps_the_last_exports_and_says_which_it_dropped(tmp_path):
    store = ExportStore(keep=2, folder=tmp_path / "out")
    made = [store.add("find-accounts", "csv", Table(["a"], [[i]]))[0] for i in range(2)]
    third, dropped = store.add("find-accounts", "csv", Table(["a"], [[3]]))
    assert dropped == [made[0]]
    assert store.get(made[0].export_id) is None and store.get(third.export_id) is third
    assert third.path == tmp_path / "out" / third.export_id and third.path.read_bytes() == third.content


# ---- through MCP


@pytest.mark.anyio
@pytest.mark.parametrize("tool,arguments,page", LIST_CALLS, ids=[c[0] for c in LIST_CALLS])
async def test_every_list_tool_exports_its_whole_list_as_a_readable_resource(client, tool, arguments, page):
    plain = await client.call_tool(tool, {**arguments, "limit": 1})
    assert not plain.is_error, plain.content[0].text
    paged = plain.structured_content[page] if page else plain.structured_content
    total = paged["total"]

    result = await client.call_tool(tool, {**arguments, "limit": 1, "export": "csv"})
    assert not result.is_error, result.content[0].text
    link = link_of(result)
    assert link.mime_type == "text/csv" and str(link.uri).startswith("cs://exports/" + tool)
    read = (await client.read_resource(link.uri)).contents[0]
    assert read.mime_type == "text/csv"
    rows = parse_csv(read.text)
    assert len(rows) - 1 == total  # every row, not the page of 1
    assert len(set(rows[0])) == len(rows[0]) and rows[0][0]
    assert link.size == len(read.text.encode())
    text = result.content[0].text
    assert str(link.uri) in text and f"all {total:,} rows" in text
    shown = result.structured_content[page] if page else result.structured_content
    assert shown["returned"] == min(1, total) and shown["total"] == total
    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert str(link.uri) in listed


@pytest.mark.anyio
async def test_the_churn_export_holds_the_known_rows_with_drivers(client):
    result = await client.call_tool("churn-risk-list", {"export": "csv"})
    text = (await client.read_resource(link_of(result).uri)).contents[0].text
    rows = parse_csv(text)
    header, records = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header[:5] == ["rank", "account_id", "name", "segment", "csm_id"]
    assert {"probability", "arr_at_risk", "drivers", "recommended_action", "health_band"} <= set(header)
    globex = next(r for r in records if r["account_id"] == "A-2")
    assert (globex["name"], globex["probability"], globex["arr"], globex["arr_at_risk"]) == (
        "Globex", "0.709", "8000.0", "5672.0")
    assert globex["drivers"] == "active users down 100% in 30 days; no logins for 36 days; health score in the red band"
    assert globex["at_risk_renewal"] == "TRUE" and globex["renewal_date"] == "2027-03-01"


@pytest.mark.anyio
async def test_an_xlsx_export_is_a_blob_with_the_spreadsheet_type(client):
    result = await client.call_tool("renewal-forecast", {"days": 365, "export": "xlsx"})
    link = link_of(result)
    assert link.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    import base64

    blob = (await client.read_resource(link.uri)).contents[0].blob
    rows, _ = read_xlsx(base64.b64decode(blob))
    assert rows[0][:2] == ["account_id", "name"] and len(rows) - 1 == result.structured_content["total"]
    assert "timeline.stage" in rows[0]


@pytest.mark.anyio
async def test_an_answer_without_a_list_refuses_export_and_says_what_to_send(client):
    result = await client.call_tool("retention-metrics", {"export": "csv"})
    assert result.is_error and "add by (segment" in result.content[0].text
    bad = await client.call_tool("churn-risk-list", {"export": "pdf"})
    assert bad.is_error and "csv" in bad.content[0].text and "xlsx" in bad.content[0].text


@pytest.mark.anyio
async def test_old_exports_leave_the_resource_list(tiny_workspace):
    from cs_mcp.server import create_server

    settings = tiny_workspace.settings.model_copy(deep=True)
    settings.exports.keep = 2
    async with Client(create_server(settings, tiny_workspace, warm_up=False)) as c:
        uris = [str(link_of(await c.call_tool("find-accounts", {"query": "a", "export": "csv"})).uri)
                for _ in range(3)]
        listed = {str(r.uri) for r in (await c.list_resources()).resources if str(r.uri).startswith("cs://exports/")}
        assert listed == set(uris[1:])
        with pytest.raises(MCPError):
            await c.read_resource(uris[0])


@pytest.mark.anyio
async def test_a_legacy_client_hears_that_the_resource_list_changed(tiny_server):
    heard = []

    async def on_message(message):
        heard.append(getattr(getattr(message, "root", message), "method", None))

    async with Client(tiny_server, mode="legacy", message_handler=on_message) as c:
        await c.call_tool("find-accounts", {"query": "a", "export": "csv"})
    assert heard == ["notifications/resources/list_changed"]


# ---- the command line


def test_cs_mcp_export_writes_the_same_rows_to_a_file(tiny_workspace, tmp_path, capsys):
    from cs_mcp.cli import run

    out = tmp_path / "smb.csv"
    assert run(["export", "churn-risk-list", "--data", str(tiny_workspace.path), "--args", '{"segment": "smb"}',
                "--out", str(out)]) == 0
    rows = parse_csv(out.read_text(encoding="utf-8"))
    assert [r[1] for r in rows[1:]] == ["A-2"]
    assert "1 rows x 21 columns of churn-risk-list, CSV" in capsys.readouterr().out
    xlsx = tmp_path / "book.xlsx"
    assert run(["export", "csm-performance", "--data", str(tiny_workspace.path), "--out", str(xlsx)]) == 0
    assert len(read_xlsx(xlsx.read_bytes())[0]) == 3  # header + the 2 CSMs


@pytest.mark.parametrize("args,message", [
    ('{"segment": ', "--args is not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"min_tier": "bogus"}', "min_tier"),
])
def test_cs_mcp_export_refuses_bad_arguments_with_what_to_send(tiny_workspace, tmp_path, capsys, args, message):
    from cs_mcp.cli import run

    out = tmp_path / "x.csv"
    assert run(["export", "churn-risk-list", "--data", str(tiny_workspace.path), "--args", args,
                "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
