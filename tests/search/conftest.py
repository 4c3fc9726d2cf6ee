"""Fixtures shared by the search tests."""

import pytest


@pytest.fixture(scope="session")
def local_ray():
    """One Ray for the session: 4 CPUs and one GPU that exists only as a Ray resource."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
