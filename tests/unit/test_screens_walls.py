"""Rules of the screens' code that import-linter cannot state (it sees modules, not names)."""

from __future__ import annotations

import ast
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[2] / "screens"
RAW_TEXT_WIDGETS = {"Input", "TextArea"}
ORDERED = SCREENS / "widgets" / "ordered_input.py"


def test_every_text_input_keeps_typed_keys_in_order():
    """Textual's own Input and TextArea let a backspace act after the keys typed behind it when
    keys come in one read (Textual #6605): the screens make OrderedInput / OrderedTextArea."""
    found = []
    for path in sorted(SCREENS.rglob("*.py")):
        if path == ORDERED:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names = [node.func.id]
            elif isinstance(node, ast.ClassDef):
                names = [b.id for b in node.bases if isinstance(b, ast.Name)]
            else:
                continue
            found += [
                f"{path.relative_to(SCREENS)}:{node.lineno} {name}"
                for name in names
                if name in RAW_TEXT_WIDGETS
            ]
    assert not found, f"use OrderedInput / OrderedTextArea instead of: {found}"
    assert len(list(SCREENS.rglob("*.py"))) > 20  # the walk saw the screens


def test_every_static_shows_its_text_as_written():
    """Textual reads `[...]` in a Static's plain string as markup: an entrypoint, a path, an
    error or a search typed by the user then lost its brackets or raised MarkupError (a log
    search for `[/]` ended the app). Every Static is made with markup=False; styled text is
    Rich Text."""
    found = []
    for path in sorted(SCREENS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Static"
                and not any(
                    k.arg == "markup" and isinstance(k.value, ast.Constant) and not k.value.value
                    for k in node.keywords
                )
            ):
                found.append(f"{path.relative_to(SCREENS)}:{node.lineno}")
    assert not found, f"Static(..., markup=False) at: {found}"
