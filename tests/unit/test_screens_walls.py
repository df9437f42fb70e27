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
