"""The real `raycockpit` console script in a real pseudo-terminal (tmux), against the session's Ray
head: it starts under the usual TERM values, shows the head's node, quits with status 0 and gives
the terminal back (alternate screen off, no process left); at 80x24 every pane is reachable and
the Footer stays on screen; a resize while running redraws at the new size; NO_COLOR leaves only
grays. No settings file exists (RAYCOCKPIT_CONFIG points nowhere) and HOME is a fresh temp dir.

What the colour checks rely on (Textual 8.2.8 / Rich 15): Textual writes its own escape
sequences (no terminfo); the colour depth comes from Rich's detection: COLORTERM=truecolor or
24bit -> truecolor (`38;2;r;g;b`), a TERM ending in -256color -> 256 colours (`38;5;n`), any other
TERM (e.g. `linux`) -> the 16 standard colours (`30`-`37`, `90`-`97`). NO_COLOR (any value) does not
remove colour sequences: Textual adds its Monochrome filter, which turns every colour into the gray
of the same luminance (App.__init__; it removes colours only for a theme using native ANSI colours).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.local import still_running
from tests.e2e.terminal import BASE_ENV, Terminal

pytestmark = pytest.mark.cluster

RAYCOCKPIT = Path(sys.executable).with_name("raycockpit")
TITLES = ["Overview", "Nodes", "GPUs", "Autoscaler", "Jobs", "Serve", "Launch"]
START_S = 60  # the app's first screen; a slow CI box imports textual and httpx cold
DATA_S = 30  # the first snapshot (the poller's first round)


# -- the app in a terminal ------------------------------------------------------------------------


def cockpit(ray_head, tmp_path: Path, *, term: str, size=(80, 24), **env: str) -> Terminal:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environment = {
        **BASE_ENV,
        "HOME": str(home),
        "RAYCOCKPIT_CONFIG": "/nonexistent/raycockpit.yaml",
        **env,
    }
    return Terminal(
        [str(RAYCOCKPIT), "--address", ray_head.dashboard_url],
        size=size,
        env=environment,
        cwd=tmp_path,
        term=term,
    )


def node_rows(screen: str) -> list[str]:
    """Lines that show the head's IP in a table (not the address in the status line)."""
    return [line for line in screen.splitlines() if "127.0.0.1" in line and "://" not in line]


def show_nodes(term: Terminal) -> str:
    term.wait_for("1 Overview", START_S, "the nav line")
    term.send("2")
    return term.wait_for(
        lambda s: node_rows(s) and selected_pane(term) == "Nodes",
        DATA_S,
        "the head's node (127.0.0.1) in the Nodes pane",
    )


def quit_cleanly(term: Terminal) -> None:
    running = term.processes()
    term.send("q")
    assert term.wait_exit(30) == 0, term.screen()
    assert not term.alternate_on(), "the app exited but left the terminal on the alternate screen"
    left = {pid for pid in still_running(running) if pid != term.server_pid}
    assert not left, f"processes of the app still run after it quit: {sorted(left)}"


# -- reading what the terminal shows --------------------------------------------------------------

SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def reverse_text(line: str) -> str:
    """The characters of an escaped screen line (`capture-pane -e`) drawn in reverse video."""
    out, reverse, pos = [], False, 0
    for match in SGR.finditer(line):
        if reverse:
            out.append(line[pos : match.start()])
        params = [int(p) if p else 0 for p in match.group(1).split(";")]
        for p in params:
            if p == 0 or p == 27:
                reverse = False
            elif p == 7:
                reverse = True
        pos = match.end()
    if reverse:
        out.append(line[pos:])
    return "".join(out)


def selected_pane(term: Terminal) -> str:
    """The title the nav line (line 2) marks as the current pane (bold reverse)."""
    nav = term.screen(escapes=True).split("\n")[1]
    return reverse_text(nav).strip().split(" ", 1)[-1]  # " 2 Nodes " -> "Nodes"


def colours(escaped: str) -> list[tuple[str, str, tuple]]:
    """Every colour an escaped screen sets: (fg|bg, 16|256|rgb, value)."""
    found = []
    for match in SGR.finditer(escaped):
        params = [int(p) if p else 0 for p in re.split("[;:]", match.group(1))]
        i = 0
        while i < len(params):
            p = params[i]
            if p in (38, 48) and i + 1 < len(params):
                where = "fg" if p == 38 else "bg"
                if params[i + 1] == 5:
                    found.append((where, "256", (params[i + 2],)))
                    i += 3
                    continue
                if params[i + 1] == 2:
                    found.append((where, "rgb", tuple(params[i + 2 : i + 5])))
                    i += 5
                    continue
            elif 30 <= p <= 37 or 90 <= p <= 97:
                found.append(("fg", "16", (p,)))
            elif 40 <= p <= 47 or 100 <= p <= 107:
                found.append(("bg", "16", (p,)))
            i += 1
    return found


def is_gray(kind: str, value: tuple) -> bool:
    if kind == "rgb":
        return len(set(value)) == 1
    if kind == "256":
        n = value[0]
        if n >= 232 or n in (0, 7, 8, 15):
            return True
        if 16 <= n <= 231:  # the 6x6x6 cube: gray where r == g == b
            r, g, b = (n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6
            return r == g == b
        return False
    return value[0] in (30, 37, 90, 97, 40, 47, 100, 107)  # black, white and the two grays


def kinds(found) -> set[str]:
    return {kind for _, kind, _ in found}


# -- the tests ------------------------------------------------------------------------------------

# TERM -> (extra environment, the colour depth the app must use there)
TERMS = {
    "xterm-256color": ({"COLORTERM": "truecolor"}, "rgb"),
    "screen-256color": ({}, "256"),
    "tmux-256color": ({}, "256"),
    "linux": ({}, "16"),
}


@pytest.mark.parametrize("term_name", list(TERMS))
def test_starts_shows_the_node_and_quits_restoring_the_terminal(ray_head, tmp_path, term_name):
    extra, depth = TERMS[term_name]
    with cockpit(ray_head, tmp_path, term=term_name, **extra) as term:
        screen = show_nodes(term)
        assert ray_head.dashboard_url in screen.splitlines()[0], screen  # the status line
        found = colours(term.screen(escapes=True))
        assert kinds(found) == {depth}, (
            f"TERM={term_name}: colour sequences {sorted(set(found))[:20]}"
        )
        assert any(not is_gray(k, v) for _, k, v in found), "no hue at all without NO_COLOR"
        if term_name == "xterm-256color":  # the size checks, in this one run
            every_pane_at_80x24(term)
            redraws_on_resize(term)
        quit_cleanly(term)


def every_pane_at_80x24(term: Terminal) -> None:
    assert term.size() == (80, 24)
    for key, title in enumerate(TITLES, start=1):
        term.send(str(key))
        screen = term.wait_for(
            lambda s, t=title: selected_pane(term) == t, 10, f"pane {key} ({title}) selected"
        )
        lines = screen.split("\n")
        assert all(t in lines[1] for t in TITLES), (
            f"the nav line lost a title at 80 columns: {lines[1]!r}"
        )
        assert "raycockpit http://127.0.0.1:" in lines[0], (
            f"the status line at 80 columns: {lines[0]!r}"
        )
        # the Footer is the last line, its palette key (every action) at the right edge
        assert lines[23].rstrip().endswith("^p palette"), (
            f"pane {title}: no Footer on line 24:\n{screen}"
        )


def redraws_on_resize(term: Terminal) -> None:
    def drawn_at(width: int, height: int):
        def check(screen: str) -> bool:
            lines = screen.split("\n")
            return (
                len(lines) >= height
                and lines[height - 1].rstrip().endswith("^p palette")
                and lines[2].startswith("╭─ Cluster")
                and len(lines[2].rstrip()) == width
            )

        return check

    term.send("1")
    term.wait_for(drawn_at(80, 24), 10, "the Overview at 80x24")
    assert "0 Actors" not in term.screen().split("\n")[1]  # no room at 80 columns
    term.resize(120, 40)
    term.wait_for(drawn_at(120, 40), 10, "a redraw at 120x40 (Footer on line 40, boxes 120 wide)")
    assert term.size() == (120, 40)
    # the nav line is laid out at the new width: it had kept the 80-column line until a pane key
    term.wait_for(lambda s: "0 Actors" in s.split("\n")[1], 10, "the Actors pane on the nav line")
    term.resize(80, 24)
    term.wait_for(drawn_at(80, 24), 10, "a redraw back at 80x24")
    line = term.wait_for(lambda s: "0 Actors" not in s.split("\n")[1], 10, "0 Actors off")
    assert line.split("\n")[1].rstrip().endswith("7 Launch"), line.split("\n")[1]


def test_no_color_leaves_only_grays(ray_head, tmp_path):
    with cockpit(
        ray_head, tmp_path, term="xterm-256color", COLORTERM="truecolor", NO_COLOR="1"
    ) as term:
        screen = show_nodes(term)
        assert all(t in screen.splitlines()[1] for t in TITLES)
        assert "ACTIVE" in node_rows(screen)[0]
        found = colours(term.screen(escapes=True))
        # Textual 8.2.8 keeps writing truecolor sequences under NO_COLOR, all of them grays
        assert kinds(found) == {"rgb"}, sorted(set(found))
        hues = sorted({(w, v) for w, k, v in found if not is_gray(k, v)})
        assert not hues, f"colours with a hue under NO_COLOR: {hues}"
        quit_cleanly(term)


def test_footer_at_80_columns_shows_the_keys_key(ray_head, tmp_path):
    with cockpit(ray_head, tmp_path, term="xterm-256color") as term:
        try:
            footer = term.wait_for("^p palette", START_S, "the Footer").split("\n")[23]
            assert "? Keys" in footer and "q Quit" in footer, footer
        finally:
            term.send("q")
            term.wait_exit(30)
