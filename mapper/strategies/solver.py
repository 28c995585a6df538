"""``milp``: SciPy's mixed-integer solver (HiGHS) without its stray console output.

HiGHS prints a debug line (``HighsMipSolverData::transformNewIntegerFeasibleSolution
tmpSolver.run();``) from C whatever the options say (ERGO-Code/HiGHS#2783); on stdout it would
break ``--json`` output, so file descriptor 1 points at the null device while the solver runs.
"""
from __future__ import annotations

import os
import sys


def milp(*args, **kwargs):
    """``scipy.optimize.milp(*args, **kwargs)`` with the process's stdout (fd 1) silenced meanwhile."""
    from scipy.optimize import milp as _milp

    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        return _milp(*args, **kwargs)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
