"""PyTorch's DataLoader with worker processes (forked on Linux) whose dataset calls the numpy
frontend after the parent's engine threads started; each worker uses one engine thread by
default (as PyTorch does for its own), so num_workers workers do not oversubscribe the cores."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import learnable_scattering  # noqa: E402
from learnable_scattering.numpy import Scattering2D  # noqa: E402


class ScatteredImages(torch.utils.data.Dataset):
    def __init__(self):
        self.S = Scattering2D(2, (32, 32), L=4)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = np.random.default_rng(i).standard_normal((3, 32, 32)).astype(np.float32)
        return torch.from_numpy(self.S(x)), learnable_scattering.num_threads()


def test_dataloader_workers_transform_with_one_thread_each():
    data = ScatteredImages()
    expected = torch.stack([data[i][0] for i in range(8)])  # the parent's pool is now running
    loader = torch.utils.data.DataLoader(data, batch_size=2, num_workers=2, timeout=60)
    got, threads = zip(*loader)
    assert torch.equal(torch.cat(got), expected)
    assert {int(t) for batch in threads for t in batch} == {1}
    # The parent keeps its own count.
    assert learnable_scattering.num_threads() >= 1


def test_worker_init_fn_can_choose_the_count():
    loader = torch.utils.data.DataLoader(
        ScatteredImages(), batch_size=4, num_workers=2, timeout=60,
        worker_init_fn=lambda _: learnable_scattering.set_num_threads(2))
    threads = {int(t) for _, batch in loader for t in batch}
    assert threads == {2}
