"""The time course counts samples, not replicate wells (issue 22 point 1)."""

from __future__ import annotations

import numpy as np

from napari_msc_morph.analysis import aggregate_to_samples
from napari_msc_morph.analysis.readouts import read_readouts
from napari_msc_morph.analysis.timecourse import time_course


def test_replicate_readouts_are_one_sample(images, readouts_long):
    samples = aggregate_to_samples(images)
    readouts = read_readouts(readouts_long)  # 3 replicate wells per sample
    course = time_course(samples, readouts, scores=["osscore"])
    runx2 = course[(course.variable == "RUNX2 (qPCR)") & (course.group == "induced")]
    assert list(runx2["n"]) == [3, 3, 3, 3]  # 3 donors per day, not 9 wells
    per_sample = readouts[(readouts.marker == "RUNX2") & (readouts.condition == "induced")]
    per_sample = per_sample.groupby(["day", "sample_id"])["value"].mean()
    np.testing.assert_allclose(runx2.sort_values("day")["sd"],
                               per_sample.groupby("day").std(ddof=1))
