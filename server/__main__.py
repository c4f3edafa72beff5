"""`python -m server` is `clinic-kg`."""

from server.cli import main

main()
