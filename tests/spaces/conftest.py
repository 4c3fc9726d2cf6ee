import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from losstune.spaces import Choice, Fixed, Float, Int, Param


def random_pick(rng: random.Random) -> Callable[[str, Param], Any]:
    """A seeded pick function: what a random-search backend would do with the walk."""

    def pick(path: str, param: Param) -> Any:
        if isinstance(param, Float):
            if param.log:
                return math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
            return rng.uniform(param.low, param.high)
        if isinstance(param, Int):
            return rng.randint(param.low, param.high)
        if isinstance(param, Choice):
            return rng.choice(param.options)
        assert isinstance(param, Fixed)
        return param.value

    return pick


@pytest.fixture
def pick_random():
    return random_pick
