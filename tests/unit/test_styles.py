"""The Rich styles by meaning (screens/styles.py): every Textual theme colours each of them, an
ANSI theme keeps the terminal's own colours, and no screen names a colour itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from rich.color import ColorType
from rich.errors import StyleSyntaxError
from rich.style import Style
from textual.theme import BUILTIN_THEMES

from raycockpit.screens.styles import BAD_STRONG, OK, ROLES, rich_theme

SCREENS = Path(__file__).resolve().parents[2] / "screens"
COLOUR_WORDS = r"(black|red|green|yellow|blue|magenta|cyan|white|bright_\w+|grey\d+|gray\d+)"


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_every_theme_colours_every_style(name):
    theme = BUILTIN_THEMES[name]
    styles = rich_theme({**theme.to_color_system().generate(), **theme.variables}).styles
    for role, (_, _, bold) in ROLES.items():
        assert styles[role].color is not None, role
        assert bool(styles[role].bold) is bold, role


def test_an_ansi_theme_keeps_the_terminals_own_colours():
    theme = BUILTIN_THEMES["ansi-dark"]
    styles = rich_theme({**theme.to_color_system().generate(), **theme.variables}).styles
    assert {styles[role].color.type for role in ROLES} == {ColorType.STANDARD}


def test_a_theme_without_the_variables_falls_back_to_plain_colours():
    styles = rich_theme({"text-success": "auto 60%"}).styles
    assert styles[OK].color.name == "green" and styles[BAD_STRONG].bold


def _strings(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _names_a_colour(text: str) -> bool:
    if re.search(rf"\[[^\]\n]*\b{COLOUR_WORDS}\b[^\]\n]*\]", text):  # Rich markup
        return True
    if re.search(rf"(color|background):\s*({COLOUR_WORDS}|#[0-9a-fA-F]{{3,8}})\b", text):  # CSS
        return True
    try:
        style = Style.parse(text)
    except (StyleSyntaxError, ValueError):
        return False
    named = [c for c in (style.color, style.bgcolor) if c is not None]
    return any(c.type is not ColorType.DEFAULT for c in named)  # "default": the terminal's own


def test_no_screen_names_a_colour():
    """Colours come from the theme: a style is one of screens/styles.py's names (or "dim",
    "bold", ... which every theme keeps), CSS uses $variables."""
    found = [
        f"{path.relative_to(SCREENS.parent)}:{line}: {text!r}"
        for path in sorted(SCREENS.rglob("*.py"))
        if path.name != "styles.py"
        for line, text in _strings(path)
        if _names_a_colour(text)
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_each_way_of_naming_a_colour():
    for text in ("red", "bold green", "on blue", "#ff0000", "[yellow]x[/]", "color: red;"):
        assert _names_a_colour(text), text
    for text in ("dim", "bold", "", BAD_STRONG, "the red button", "color: $error;", "[b]x[/b]"):
        assert not _names_a_colour(text), text
