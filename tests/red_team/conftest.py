import pytest

from openmoe_bft.red_team.testing import FakeChatServer


@pytest.fixture(scope="module")
def vulnerable_url():
    pytest.importorskip("httpx")
    with FakeChatServer("vulnerable") as server:
        yield server.url


@pytest.fixture(scope="module")
def hardened_url():
    pytest.importorskip("httpx")
    with FakeChatServer("hardened") as server:
        yield server.url
