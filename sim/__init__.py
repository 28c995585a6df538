"""The simulator: a mapping played out event by event in SimPy (integer picoseconds), and the CLI."""
