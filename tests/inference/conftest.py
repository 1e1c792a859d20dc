import pytest
from predict_helpers import make_bundle

from napari_msc_morph.models import load_bundle


@pytest.fixture(scope="session")
def osteo_bundle_path(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundles") / "osteo.zip")


@pytest.fixture(scope="session")
def passage_bundle_path(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundles") / "passage", task="passage", tiling="grid")


@pytest.fixture
def osteo_bundle(osteo_bundle_path):
    return load_bundle(osteo_bundle_path)
