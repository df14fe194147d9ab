"""One module per subcommand (see :data:`b03lint.cli.COMMANDS`)."""
