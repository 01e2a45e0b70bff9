"""Built-in bricks: one module per brick, each a `BrickSpec` plus its engines.

The registry imports every module here (names starting with `_` are skipped)."""
