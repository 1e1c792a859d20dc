import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.synthetic.readouts import marker_expression, synthetic_readouts


def test_marker_expression_starts_at_one_and_rises_in_literature_order():
    d = np.linspace(0, 1, 21)
    for marker in ("RUNX2", "OSX", "OCN"):
        fold = marker_expression(d, marker)
        assert fold[0] == pytest.approx(1.0)
        assert np.all(np.diff(fold) > 0)
    # RUNX2 is early: at a low differentiation level it is further along than OCN
    half = {m: (marker_expression(0.25, m) - 1) / (marker_expression(1.0, m) - 1)
            for m in ("RUNX2", "OSX", "OCN")}
    assert half["RUNX2"] > half["OSX"] > half["OCN"]


def test_synthetic_readouts_long_form_replicates_and_noise():
    samples = pd.DataFrame({"sample_id": ["a", "b"], "differentiation": [0.0, 0.9],
                            "day": [0, 21], "condition": ["control", "induced"]})
    long = synthetic_readouts(samples, replicates=4, seed=3)
    assert set(long.columns) >= {"sample_id", "marker", "assay", "replicate", "value", "day", "condition"}
    assert len(long) == 2 * 3 * 2 * 4
    means = long.groupby(["sample_id", "marker", "assay"])["value"].mean()
    assert means.loc[("b", "OCN", "qPCR")] > 5 * means.loc[("a", "OCN", "qPCR")]
    assert long["value"].gt(0).all()
    assert long.equals(synthetic_readouts(samples, replicates=4, seed=3))
    with pytest.raises(BadInputError, match="differentiation"):
        synthetic_readouts(samples.drop(columns="differentiation"))
    with pytest.raises(BadInputError, match="unknown marker"):
        marker_expression(0.5, "ALP")
