"""The cockpit's Rich styles by meaning, coloured by the Textual theme in use.

Panes and screens build Rich `Text`; its styles are these names (`Text(x, style=BAD)`), never a
colour. Each name is a Textual style on the theme's variables (`bold $text-error`): the text
colours `$text-success` / `$text-warning` / ... are made to read on the theme's own background,
light or dark (an ANSI theme keeps the terminal's own colours); bars take the plain `$success` /
`$warning` / `$error` blocks. A Text's own style reaches Textual as such a string, and Textual
reads the variables itself; its spans, and whatever Rich draws (tables, the line widgets' cells),
are looked up in the Rich theme `rich_theme(variables)` gives, which has the same names with
the same colours: the app pushes it on its console at start and when the theme changes (ctrl+p
-> Theme, `:theme NAME`, or `theme:` in the settings).

Every Rich console knows the names too, in the terminal's own colours (they are added to Rich's
default theme on import): a widget shown by another App (a test's) or printed outside the cockpit
still draws; the app's themed styles are pushed over them.
"""

from __future__ import annotations

from rich import themes
from rich.style import Style
from rich.theme import Theme
from textual.color import Color, ColorParseError

OK = "$text-success"  # done well, up, healthy
OK_STRONG = "bold $text-success"
WARN = "$text-warning"  # waiting, stale, a reason or a warning to read
WARN_STRONG = "bold $text-warning"
BAD = "$text-error"  # failed, down, an error
BAD_STRONG = "bold $text-error"
INFO = "$text-primary"  # running, an address, a label, a picture of a series
INFO_STRONG = "bold $text-primary"
OTHER = "$text-secondary"  # stopped or stopping by a person: neither a failure nor a wait
OTHER_STRONG = "bold $text-secondary"
BAR_LOW = "$success"  # a bar under 70 % full
BAR_MID = "$warning"  # under 90 %
BAR_HIGH = "$error"

# each name: (the theme variable giving its colour, the one to use if the theme has none, bold)
ROLES: dict[str, tuple[str, str, bool]] = {
    OK: ("text-success", "success", False),
    OK_STRONG: ("text-success", "success", True),
    WARN: ("text-warning", "warning", False),
    WARN_STRONG: ("text-warning", "warning", True),
    BAD: ("text-error", "error", False),
    BAD_STRONG: ("text-error", "error", True),
    INFO: ("text-primary", "primary", False),
    INFO_STRONG: ("text-primary", "primary", True),
    OTHER: ("text-secondary", "secondary", False),
    OTHER_STRONG: ("text-secondary", "secondary", True),
    BAR_LOW: ("success", "success", False),
    BAR_MID: ("warning", "warning", False),
    BAR_HIGH: ("error", "error", False),
}
# a theme that names none of them (never one of Textual's): the terminal's own colours
FALLBACK = {"success": "green", "warning": "yellow", "error": "red", "primary": "cyan"}


def rich_theme(variables: dict[str, str]) -> Theme:
    """A Rich theme with every name above, from a Textual theme's variables (what
    `App.get_css_variables()` or `Theme.to_color_system().generate()` give)."""
    styles = {}
    for name, (first, second, bold) in ROLES.items():
        color = _color(variables.get(first)) or _color(variables.get(second))
        styles[name] = Style(color=color or FALLBACK.get(second, "magenta"), bold=bold or None)
    return Theme(styles, inherit=True)


def _color(value: str | None):
    """A theme variable's colour as Rich's; None for one that is not a plain colour ('auto
    60%', or missing)."""
    if not value:
        return None
    try:
        return Color.parse(value).rich_color
    except ColorParseError:
        return None


themes.DEFAULT.styles.update(rich_theme({}).styles)
