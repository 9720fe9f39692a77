"""One module per `microturn` subcommand; each defines `add_parser(subparsers)` and `run(args)`."""
