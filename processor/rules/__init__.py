"""Rule kinds: one module per kind; the rule instances live in the spec files."""
