"""The README's settings table is generated from the settings registry; this keeps the two identical."""

import re
from pathlib import Path

from streamforge import settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_lists_every_setting_with_its_default():
    text = README.read_text()
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", text, re.S)
    assert table, "README.md lost its settings-table markers"
    assert table.group(1).strip() == settings.markdown_table(), (
        "README settings table is stale: run `streamforge settings --markdown` and paste it between the markers"
    )


def test_the_readme_gives_the_two_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
