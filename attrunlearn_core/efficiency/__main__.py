"""`python -m attrunlearn_core.efficiency SPEC MODE PREPARED THREADS OUT`: one measurement in this fresh process."""

import sys

from attrunlearn_core.efficiency.measure import main

main(sys.argv[1:])
