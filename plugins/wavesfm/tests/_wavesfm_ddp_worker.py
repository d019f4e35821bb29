"""Helper of test_wavesfm_distributed.py (not a test): one MAE step through zoo_core.train.fit.

Run as `python _wavesfm_ddp_worker.py OUT BATCH` under torchrun (2 ranks) or alone (1 rank);
SGD with lr 1 and no momentum makes (before - after) equal to the averaged gradient."""

import sys

import torch
from torch.utils.data import Dataset

from zoo_core.train import TrainConfig, fit
from zoo_wavesfm.mae import MaskedAutoencoder
from zoo_wavesfm.towers import ViTEncoder


class Data(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(8, 3, 16, 16, generator=g)
        self.noise = torch.rand(8, 4, generator=g)  # per-sample masks, identical on every rank

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.x[i], self.noise[i]


def main(out, batch):
    torch.manual_seed(0)
    mae = MaskedAutoencoder(ViTEncoder(img_size=16, patch_size=8, in_chans=3, embed_dim=32, depth=1, num_heads=2,
                                       mlp_dim=64), decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2,
                            decoder_mlp_dim=32)
    before = {k: v.detach().clone() for k, v in mae.named_parameters()}
    cfg = TrainConfig(epochs=1, lr=1.0, optimizer="sgd", batch_size=int(batch), progress=False, seed=0)
    fit(mae, Data(), lambda m, b: m(b[0], noise=b[1])[0], cfg)
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        grads = {k: before[k] - v.detach() for k, v in mae.named_parameters()}
        torch.save(grads, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
