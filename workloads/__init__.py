"""Bundled workloads: run ON the cluster as job entrypoints.

Imports nothing of cockpit/, screens/ or textual."""
