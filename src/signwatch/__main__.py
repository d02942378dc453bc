"""`python -m signwatch` runs the CLI."""

from signwatch.cli import main

main()
