"""The core vocabulary. Imports no framework (an import-linter contract enforces it)."""
