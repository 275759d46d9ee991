"""The README's tour runs as written (docs that show real use must stay true)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md not beside the tests (installed-wheel run)")
def test_readme_tour_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result["duty"].tolist() == [300, 300, 160]
    assert result["vat_at_sale"].tolist() == [471, 792, 0]
    assert "item 2" in result.explain(2)
