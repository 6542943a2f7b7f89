"""The Shadow writer: a plan into OUT (shadow.yaml, the network graph, host configs, the shim)."""
