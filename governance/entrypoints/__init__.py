"""The ways into the application other than HTTP: the `cxgov` command line and the company
file (JSON or CSV) import."""
