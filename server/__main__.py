"""`python -m server` is `clinic-kg`."""

from .cli import main

main()
