"""Browser assets: the operator console, the web chat widget and the demo page."""
