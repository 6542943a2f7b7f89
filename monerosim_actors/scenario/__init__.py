"""The scenario: the one YAML file a user writes, read and checked with file:line and key paths."""
