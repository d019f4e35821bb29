"""The losses LVM4CSI trains its heads with (Adam, lr 1e-3, batch 200 as the paper; see `training`).

Each is `loss(head, features_batch, *extra_batches, targets_batch) -> scalar`, the form
`training.train_head` calls.
"""

from __future__ import annotations

import torch


def classification_loss(head, feats, labels):
    """HAR: cross-entropy of the dense softmax head's logits."""
    return torch.nn.functional.cross_entropy(head(feats), labels)


def localization_loss(head, feats, power_db, positions):
    """MSE on coordinates scaled to [0, 1] (the sigmoid's range)."""
    return torch.nn.functional.mse_loss(head.forward_unit(feats, power_db), head.to_unit(positions))
