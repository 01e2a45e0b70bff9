"""lego-demo: instruction-based image editing with a Builder that plans typed bricks.

Importing this package loads no model and imports no heavy library; see docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
