"""The Serve pane and its parts: `pane` (the pane that composes them and its actions), `tree`
(applications -> deployments -> replicas), `tester` (the request tester) and `load_test`."""

from raycockpit.screens.serve.pane import ServePane

__all__ = ["ServePane"]
