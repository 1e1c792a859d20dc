"""Fixtures for the training tests."""

import pytest
from train_helpers import write_passage_set


@pytest.fixture(scope="session")
def passage_set(tmp_path_factory):
    """P1 vs P10, 6 donors x 3 fields of 256x320 px: an easy two-class setting."""
    return write_passage_set(tmp_path_factory.mktemp("passage"))


@pytest.fixture(scope="session")
def passage_set_large(tmp_path_factory):
    """P1 vs P10, 6 donors x 3 fields of 512x640 px (read at 1/4: 128x160 px)."""
    return write_passage_set(tmp_path_factory.mktemp("passage_large"), size=(512, 640))
