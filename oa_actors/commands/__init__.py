"""CLI subcommands that are not part of the actor runtime."""
