"""The suite never touches the user's own config or cache folders."""

import os
from pathlib import Path


def test_config_and_cache_folders_point_into_a_temporary_folder():
    home = Path.home()
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "NAPARI_CONFIG", "TORCH_HOME"):
        value = Path(os.environ[variable])
        assert home not in value.parents or "msc-morph-tests-" in str(value), variable
        assert "msc-morph-tests-" in str(value), variable
