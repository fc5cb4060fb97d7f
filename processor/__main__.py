"""`python -m processor` runs the nianbao command line."""

from .cli import main

main()
