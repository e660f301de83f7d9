"""Estimate pi by throwing darts: an ordinary program, swept with `run.command` in estimate_pi.toml.

Options arrive as flags (--samples 1000 --seed 3); the result is printed as one JSON
line, which `sweep collate` turns into columns.
"""

import argparse
import json
import math
import random

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--samples", type=int, default=1000, help="darts thrown")
parser.add_argument("--seed", type=int, default=0, help="random seed")
args = parser.parse_args()

rng = random.Random(args.seed)
inside = sum(1 for _ in range(args.samples) if rng.random() ** 2 + rng.random() ** 2 <= 1.0)
estimate = 4.0 * inside / args.samples
print(json.dumps({"pi": estimate, "abs_error": abs(estimate - math.pi)}))
