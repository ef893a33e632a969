"""Sub-commands of the `stenogram` command line, one module per area."""
