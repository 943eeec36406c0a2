"""The Textual UI and the command-line entry point. Imports `agent` and `storage` records."""
