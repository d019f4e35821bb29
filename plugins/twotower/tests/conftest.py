import pytest


@pytest.fixture(scope="session")
def city_small():
    from zoo_core.data.generators.city import generate

    return generate(300, seed=3)
