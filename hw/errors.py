"""The one error type users see: a message naming the field and value that is wrong."""


class PrismError(Exception):
    """Bad input (arch, workload, mapping, flag). The CLI prints it as one line and exits 2."""
