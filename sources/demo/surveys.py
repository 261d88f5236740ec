"""Satisfaction surveys that move: some customers grow unhappy, a few grow happier.

Beside the occasional survey of the activity simulation, about two customers in five are
surveyed every quarter over the last two years. Their scores (1-5) follow one of three
paths: steady around 4 (65%), drifting down from about 4.5 to about 2 (25%: the customers
a satisfaction mart must find), or improving from about 2.5 to about 4.5 (10%). A score is
the path's value on that day plus noise of ±0.6, rounded and kept within 1-5.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

SURVEYED_SHARE = 0.4
QUARTERS = 8
#: Path → (weight, score two years ago, score today).
PATHS = {"steady": (65, 4.0, 4.0), "drifting_down": (25, 4.5, 2.0), "improving": (10, 2.5, 4.5)}


def survey_trail(rng: random.Random, today: date) -> list[tuple[date, int]]:
    """(day, score) of one customer's quarterly surveys, oldest first; empty when not surveyed."""
    if rng.random() >= SURVEYED_SHARE:
        return []
    path = rng.choices(list(PATHS), weights=[w for w, _, _ in PATHS.values()])[0]
    _, start, end = PATHS[path]
    first = rng.randint(0, QUARTERS - 3)  # surveyed for the last 3 to 8 quarters
    trail = []
    for quarter in range(first, QUARTERS):
        day = today - timedelta(days=(QUARTERS - 1 - quarter) * 91 + rng.randint(0, 20))
        level = start + (end - start) * quarter / (QUARTERS - 1)
        score = min(5, max(1, round(level + rng.uniform(-0.6, 0.6))))
        trail.append((day, score))
    return trail
