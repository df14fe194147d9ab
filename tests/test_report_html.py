"""`b03lint report --html FILE`: one self-contained page, rendered by a real headless
Chromium (Debian's package; .ci/run installs it). The rendered DOM must carry every finding
of the run, and the page must load nothing from anywhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ci_skip import skip_outside_ci

REPO = Path(__file__).resolve().parent.parent


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    skip_outside_ci("chromium is not installed (apt-get install chromium; .ci/run does)")


def browser(page: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``page`` with the flags that keep it off the network."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp / 'chromium-profile'}",
         "--window-size=1280,2000", *mode, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False)


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "NO_COLOR": "1"})


def check_json(cwd: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(cwd, "check", "--output-format", "json",
                                          *args).stdout)
    return data


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert not re.search(r"\s(src|href)=\"(?!#)", page)  # only in-page anchors
    assert not re.search(r"url\(", page)
    outside = page.replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in outside and "https://" not in outside


@pytest.mark.parametrize(("rev", "verdict", "code"), [
    (None, "PASS", 0),
    ("202511161130", "BLOCKING", 1),
])
def test_report_of_the_example_in_a_real_browser(tmp_path: Path, rev: str | None,
                                                 verdict: str, code: int) -> None:
    page = tmp_path / "report.html"
    extra = ["--rev", rev] if rev else []
    proc = run(REPO, "report", "--html", str(page), *extra)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert f": {verdict}:" in proc.stdout
    html = page.read_text(encoding="utf-8")
    assert_self_contained(html)

    shot = tmp_path / "report.png"
    rendered = browser(page, tmp_path, f"--screenshot={shot}")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000  # a real page, not a blank one
    assert png_size(shot) == (1280, 2000)

    dom = browser(page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert f'id="verdict">{verdict}</span>' in text
    findings = check_json(REPO, *extra)["findings"]
    assert findings
    for f in findings:
        row = f'data-code="{f["code"]}" data-where="{f["path"]}:{f["line"]}"'
        assert row in text, f
        assert f"<code>{f['path']}:{f['line']}</code>" in text
    assert text.count('class="finding ') == 2 * len(findings)  # by object and by migration
    # the drift register and the graph are there too
    for ident in ("SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002", "SCHEMA-DRIFT-003"):
        assert f'<tr class="drift-entry" id="{ident}">' in text
    assert text.count('class="node') >= 8
    assert 'data-revision="202511171200"' in text


HOSTILE = '''\
"""<img src=x onerror=alert(1)> & friends"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.drop_table("<script>alert('t')</script>")


def downgrade():
    pass
'''


def test_everything_is_escaped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "versions"\n')
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_hostile.py").write_text(HOSTILE)
    page = tmp_path / "report.html"
    proc = run(tmp_path, "report", "--html", str(page), "--title", "<b>mine</b>")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    html = page.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "<script>alert" not in html and "<img" not in html and "<b>mine" not in html
    assert "drop table &lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; friends" in html
    dom = browser(page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<script" not in dom.stdout  # the text stayed text in the rendered DOM
    assert "&lt;b&gt;mine&lt;/b&gt;" in dom.stdout
    for f in check_json(tmp_path)["findings"]:
        assert f'data-where="{f["path"]}:{f["line"]}"' in dom.stdout


def test_page_for_a_clean_chain_without_register(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "versions"\n')
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_base.py").write_text(textwrap.dedent('''\
        """base"""
        from alembic import op
        import sqlalchemy as sa

        revision = "0001"
        down_revision = None


        def upgrade():
            op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))


        def downgrade():
            op.drop_table("t")
        '''))
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    proc = run(tmp_path, "report", "--html", str(page))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = page.read_text(encoding="utf-8")
    assert 'id="verdict">PASS</span>' in html
    assert "No findings." in html and "No drift register entries." in html
    assert 'data-revision="0001"' in html


def test_unwritable_target_exits_2(tmp_path: Path) -> None:
    proc = run(REPO, "report", "--html", str(tmp_path / "missing" / "report.html"))
    assert proc.returncode == 2
    assert "cannot write report" in proc.stderr
    assert "Traceback" not in proc.stderr


MEASURE = """<script>
(function () {
  var out = [];
  document.querySelectorAll('th').forEach(function (th) {
    var range = document.createRange();
    range.selectNodeContents(th);
    var tops = {};
    Array.prototype.forEach.call(range.getClientRects(), function (r) {
      tops[Math.round(r.top)] = true;
    });
    out.push(th.textContent.trim() + '=' + Object.keys(tops).length);
  });
  document.body.setAttribute('data-th-lines', out.join('|'));
})();
</script>"""


def test_table_headers_never_break_inside_a_word_at_1280px(tmp_path: Path) -> None:
    """Each header cell is laid out on one line in a 1280 px wide window ("Severity", not
    "Severi" / "ty"), measured by the browser (a copy of the page with a measuring script)."""
    page = tmp_path / "report.html"
    proc = run(REPO, "report", "--html", str(page), "--rev", "202511161130")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                        encoding="utf-8")
    dom = browser(measured, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'data-th-lines="([^"]*)"', dom.stdout)
    assert found, "the measuring script did not run"
    cells = [c.rsplit("=", 1) for c in found.group(1).split("|")]
    assert len(cells) >= 10 and any(name == "Severity" for name, _ in cells)
    assert [name for name, lines in cells if lines != "1"] == []
