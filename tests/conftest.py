import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conformance_util import CORPUS  # noqa: E402


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def pytest_report_header(config):
    return f"conformance corpus: {CORPUS} ({'found' if CORPUS.is_dir() else 'MISSING'})"
