"""`python -m sladesk` runs the sladesk command."""

from sladesk.cli import main

main()
