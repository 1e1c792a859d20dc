"""The crop sampler: one seeded order per epoch, shared out among torchrun processes."""

import numpy as np

from napari_msc_morph.training.pipeline import EpochSampler


def test_processes_share_out_one_epoch_like_torchs_distributed_sampler():
    one = EpochSampler(10, seed=3)
    one.set_epoch(2)
    order = list(one)
    assert sorted(order) == list(range(20, 30))  # keys epoch * n + index, each once
    shards = []
    for rank in range(3):
        sampler = EpochSampler(10, seed=3, rank=rank, world_size=3)
        sampler.set_epoch(2)
        shards.append(list(sampler))
    assert [len(s) for s in shards] == [4, 4, 4]  # padded to an equal share
    # every crop of the epoch is drawn, the first two twice (the padding)
    assert sorted(np.concatenate(shards).tolist()) == sorted(order + order[:2])
    padded = order + order[:2]
    assert all(shards[rank] == padded[rank::3] for rank in range(3))  # every third key


def test_max_samples_caps_each_process():
    sampler = EpochSampler(10, seed=0, max_samples=2, rank=1, world_size=2)
    assert len(sampler) == 2 and len(list(sampler)) == 2
