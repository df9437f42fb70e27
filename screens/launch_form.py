"""A launch form generated from a workload spec (or the Custom job form).

Every field is validated while typing; a bad value is marked in place with the reason. Submit
(ctrl+r) and preview (ctrl+o) do nothing but say what is wrong until the whole form is valid.
The checks before submit (cockpit/preflight.py: the working_dir's packed size against Ray's
upload limit, resources against the cluster) are asked of the app a moment after each change and
shown above the status line as warnings naming the numbers; only a working_dir over the limit
stops the submit. The form only renders and posts messages; the app packages and submits.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

from raycockpit.cockpit.format import exact
from raycockpit.cockpit.launch import (
    JobOptions,
    JobRequest,
    WorkloadSpec,
    build_custom_request,
    build_request,
)
from raycockpit.cockpit.preflight import Preflight
from raycockpit.screens.base import PRESET_KEYS
from raycockpit.screens.styles import BAD_STRONG, INFO, OK
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.ordered_input import OrderedInput
from raycockpit.screens.widgets.status_line import StatusLine

OPTION_FIELDS = (
    ("num_cpus", "entrypoint CPUs", "CPUs reserved for the driver (empty: Ray's default, 0)"),
    ("num_gpus", "entrypoint GPUs", "GPUs reserved for the driver (empty: none)"),
    (
        "memory",
        "entrypoint memory",
        "memory reserved for the driver, e.g. 512MiB or 2GiB (empty: none)",
    ),
    (
        "env_vars",
        "env vars",
        'KEY=value pairs separated by spaces, e.g. OMP_NUM_THREADS=1 NAME="a b"',
    ),
    ("pip", "pip packages", "extra packages installed for this job, e.g. mlflow==3.1 'pandas>=2'"),
)
CUSTOM_FIELDS = (
    (
        "entrypoint",
        "entrypoint",
        "the command to run, e.g. python train.py --epochs 3 (run by a shell, like ray job submit)",
    ),
    ("working_dir", "working dir", "a local folder to ship as the job's working_dir (empty: none)"),
    ("metadata", "metadata", "key=value pairs stored with the job"),
)


class LaunchFormScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "submit", "Submit", id="form.submit"),
        Binding("ctrl+o", "preview", "Preview", id="form.preview"),
        *[
            Binding(key, f"preset({i})", f"preset {i + 1}", show=False, id=f"form.preset{i + 1}")
            for i, key in enumerate(PRESET_KEYS)
        ],
        Binding("escape", "app.pop_screen", "Back", id="form.back"),
    ]

    DEFAULT_CSS = """
    LaunchFormScreen #form-head { height: auto; padding: 0 1; }
    LaunchFormScreen #form { height: 1fr; padding: 0 1; }
    LaunchFormScreen .field { height: auto; }
    LaunchFormScreen .field { margin-top: 1; }
    LaunchFormScreen .field Label { width: 22; padding: 0 1 0 0; text-style: bold; }
    LaunchFormScreen .field Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    LaunchFormScreen .field Input:focus { background: $primary 40%; }
    LaunchFormScreen .field Input.-invalid { background: $error 40%; border: none; }
    LaunchFormScreen .field Input.-invalid:focus { border: none; }
    LaunchFormScreen .field Select { width: 1fr; }
    LaunchFormScreen .help { color: $text-muted; padding: 0 0 0 22; height: auto; }
    LaunchFormScreen .error { color: $error; padding: 0 0 0 22; height: auto; display: none; }
    LaunchFormScreen .error.-visible { display: block; }
    LaunchFormScreen .section { text-style: bold; color: $accent; padding: 1 0 0 0; }
    LaunchFormScreen #form-status { height: auto; padding: 0 1; }
    LaunchFormScreen #form-checks { height: auto; padding: 0 1; color: $warning; display: none; }
    LaunchFormScreen #form-checks.-visible { display: block; }
    """

    class Submitted(Message):
        def __init__(self, request: JobRequest) -> None:
            super().__init__()
            self.request = request

    class PreviewWanted(Message):
        def __init__(self, request: JobRequest) -> None:
            super().__init__()
            self.request = request

    class ChecksWanted(Message):
        """Check this launch before it is sent (the app answers with `show_checks`)."""

        def __init__(self, form: LaunchFormScreen, request: JobRequest) -> None:
            super().__init__()
            self.form, self.request = form, request

    def __init__(
        self,
        spec: WorkloadSpec | None,
        values: dict[str, str] | None = None,
        options: JobOptions | None = None,
        preset: str | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec  # None: the custom job form
        if spec is not None:
            if values is None:
                values = spec.preset_values(preset) if preset else spec.defaults()
            self.values = {**spec.defaults(), **values}
        else:
            self.values = dict(values or {})
        self.options = options or JobOptions()
        self.errors: dict[str, str] = {}
        self.preflight: Preflight | None = None  # the checks of the values as they are now
        self._checks_timer = None

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with Vertical(id="form-head"):
            if self.spec is None:
                yield Static(Text("Custom job", style="bold"), markup=False)
                yield Static(
                    Text("Runs any command on the cluster, like `ray job submit`.", style="dim"),
                    markup=False,
                )
            else:
                yield Static(
                    Text(f"{self.spec.title}  ({self.spec.name})", style="bold"), markup=False
                )
                yield Static(Text(self.spec.description, style="dim"), markup=False)
                keyed = zip(PRESET_KEYS, self.spec.presets, strict=False)
                presets = "   ".join(f"{key.upper()} {name}" for key, name in keyed)
                yield Static(
                    Text(f"presets: {presets}   ctrl+o preview   ctrl+r submit", style=INFO),
                    markup=False,
                )
        with VerticalScroll(id="form"):
            if self.spec is None:
                for name, label, help_text in CUSTOM_FIELDS:
                    yield from self._field(
                        name,
                        label,
                        help_text,
                        OrderedInput(self.values.get(name, ""), id=f"f-{name}"),
                    )
            else:
                for p in self.spec.params:
                    yield from self._field(p.name, p.label, self._help(p), self._widget(p))
            yield Static("Job", classes="section", markup=False)
            for name, label, help_text in OPTION_FIELDS:
                yield from self._field(
                    f"opt-{name}",
                    label,
                    help_text,
                    OrderedInput(getattr(self.options, name), id=f"f-opt-{name}"),
                )
        yield Static(id="form-checks", markup=False)
        yield Static(id="form-status", markup=False)
        yield KeyFooter()

    @staticmethod
    def _help(p) -> str:
        bounds = ""
        if p.type in ("int", "float"):
            if p.min is not None and p.max is not None:
                bounds = f"  [{exact(p.min)} … {exact(p.max)}]"
            elif p.min is not None:
                bounds = f"  [at least {exact(p.min)}]"
            elif p.max is not None:
                bounds = f"  [at most {exact(p.max)}]"
        return f"{p.help}{bounds}"

    def _widget(self, p):
        value = self.values.get(p.name, p.text(p.default))
        if p.type in ("choice", "bool"):
            choices = p.choices if p.type == "choice" else ("true", "false")
            return Select(
                [(Text(c), c) for c in choices],  # a YAML choice may hold [...]
                value=value if value in choices else Select.BLANK,
                allow_blank=False,
                id=f"f-{p.name}",
            )
        return OrderedInput(value, id=f"f-{p.name}")

    def _field(self, name: str, label: str, help_text: str, widget) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label)
            yield widget
        yield Static(help_text, classes="help", markup=False)
        yield Static(id=f"e-{name}", classes="error", markup=False)

    def on_mount(self) -> None:
        self.sub_title = self.spec.name if self.spec else "custom job"
        first = self.query("#form Input, #form Select")
        if first:
            first.first().focus()
        self._validate_all(show=False)
        self._ask_checks()

    # -- reading and validating ------------------------------------------------------------------

    def read(self) -> tuple[dict[str, str], JobOptions]:
        values: dict[str, str] = {}
        names = (
            [n for n, _, _ in CUSTOM_FIELDS]
            if self.spec is None
            else [p.name for p in self.spec.params]
        )
        for name in names:
            widget = self.query_one(f"#f-{name}")
            value = widget.value
            values[name] = "" if value is Select.BLANK or value is None else str(value)
        options = JobOptions(
            **{n: self.query_one(f"#f-opt-{n}", Input).value for n, _, _ in OPTION_FIELDS}
        )
        return values, options

    def build(self) -> tuple[JobRequest | None, dict[str, str]]:
        values, options = self.read()
        if self.spec is None:
            return build_custom_request(
                values["entrypoint"], values["working_dir"], options, values["metadata"]
            )
        return build_request(self.spec, values, options)

    def _validate_all(self, show: bool = True) -> dict[str, str]:
        _, errors = self.build()
        self.errors = {
            (f"opt-{k}" if k in JobOptions().as_dict() else k): v for k, v in errors.items()
        }
        for box in self.query(".error"):
            name = (box.id or "")[2:]
            message = self.errors.get(name, "")
            box.update(Text("✖ " + message) if message else "")
            box.set_class(bool(message), "-visible")
        for widget in self.query("#form Input, #form Select"):
            widget.set_class((widget.id or "")[2:] in self.errors, "-invalid")
        return self.errors

    def on_input_changed(self, event: Input.Changed) -> None:
        self._validate_all()
        self._status("")
        self._checks_soon()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._validate_all()
        self._checks_soon()

    # -- checks before submit ----------------------------------------------------------------

    def _checks_soon(self) -> None:
        """Ask for the checks once typing pauses (0.4 s), not at every key."""
        self.preflight = None
        if self._checks_timer is not None:
            self._checks_timer.stop()
        self._checks_timer = self.set_timer(0.4, self._ask_checks)

    def _ask_checks(self) -> None:
        self._checks_timer = None
        request, errors = self.build()
        if request is not None and not errors:
            self.post_message(self.ChecksWanted(self, request))
        else:
            self.show_checks(None)

    def show_checks(self, preflight: Preflight | None) -> None:
        """The app's answer: each warning or refusal on a line, naming the numbers."""
        self.preflight = preflight
        lines = preflight.lines() if preflight is not None else []
        box = self.query_one("#form-checks", Static)
        refused = preflight is not None and preflight.refused is not None
        box.update(Text("\n".join(lines), style=BAD_STRONG if refused else ""))
        box.set_class(bool(lines), "-visible")

    def _status(self, message: str, error: bool = True) -> None:
        self.query_one("#form-status", Static).update(
            Text(message, style=BAD_STRONG if error else OK)
        )

    def _refuse(self) -> bool:
        errors = self._validate_all()
        if not errors:
            return False
        first = ", ".join(list(errors.values())[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        self._status(f"Not sent: {len(errors)} field(s) need fixing: {first}{more}")
        return True

    # -- actions ---------------------------------------------------------------------------------

    def action_preset(self, index: int) -> None:
        if self.spec is None or index >= len(self.spec.presets):
            return
        name = list(self.spec.presets)[index]
        for key, value in self.spec.preset_values(name).items():
            widget = self.query_one(f"#f-{key}")
            widget.value = value
        self._validate_all()
        self._status(f"preset {name} applied", error=False)

    def action_submit(self) -> None:
        if self._refuse():
            return
        refused = self.preflight.refused if self.preflight is not None else None
        if refused is not None:  # Ray would refuse it: say so with the sizes, send nothing
            self._status(f"Not sent: {refused.text}")
            return
        request, _ = self.build()
        self._status("submitting…", error=False)
        self.post_message(self.Submitted(request))

    def action_preview(self) -> None:
        if self._refuse():
            return
        request, _ = self.build()
        self.post_message(self.PreviewWanted(request))

    def show_failure(self, message: str) -> None:
        """The app could not submit: say why; the form keeps every value."""
        self._status(f"Not submitted: {message}")
