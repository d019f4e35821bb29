"""The pre-training objective L = L_C + L_R (eqs. 10-12) and TOFT's focal loss (eq. 16)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo_core.heads import ContrastiveHead
from zoo_core.losses import ClipLoss
from zoo_core.objectives import Objective


class _EpochMeans:
    """Running per-term means of the training batches, read (and reset) once per epoch."""

    def _reset_means(self) -> None:
        self.last: dict[str, float] = {}
        self._sums: dict[str, float] = {}
        self._count = 0

    def _record(self) -> None:
        if self.training:
            self._count += 1
            for k, v in self.last.items():
                self._sums[k] = self._sums.get(k, 0.0) + v

    def epoch_means(self) -> dict[str, float]:
        """Each term's mean over the batches since the last call (the epoch's record)."""
        out = {k: v / max(1, self._count) for k, v in self._sums.items()}
        self._sums, self._count = {}, 0
        return out


class TwoTowerObjective(_EpochMeans, Objective):
    """L_C: the core's `ClipLoss` (symmetric cross-entropy over the CSI-environment
    similarities, embeddings gathered across ranks with gradients), with the `retrieval`
    head's learnable logit scale; L_R: MSE of the CRNN's reconstruction of the normalised
    CSI (when the model has the CRNN head, `csi-feedback`). The CSI is encoded once."""

    def __init__(self, model, task: str = "retrieval", reconstruction: bool = True,
                 reconstruction_weight: float = 1.0):
        super().__init__(model)
        self.task = task
        self.reconstruction_weight = float(reconstruction_weight)
        self.clip = ClipLoss()
        self.reconstruction = reconstruction and "csi-feedback" in model.heads
        self._reset_means()

    def modules_in_use(self):
        used = [self.model.encoders["csi"], self.model.encoders["env"], self.model.heads[self.task]]
        return used + ([self.model.heads["csi-feedback"]] if self.reconstruction else [])

    def prepare(self) -> None:
        self.model.set_task(self.task)

    def forward(self, batch) -> torch.Tensor:
        head = self.model.heads[self.task]
        emb_csi = self.model.encode(batch, "csi")
        emb_env = self.model.encode(batch, "env")
        a, b = ContrastiveHead.normalized(emb_csi, emb_env)
        loss_c = self.clip(a, b, head.scale(), head.logit_bias, dist=self.dist)
        loss = loss_c
        if self.reconstruction:
            target = self.model.encoders["csi"].transform(batch["csi"])
            loss_r = F.mse_loss(self.model.heads["csi-feedback"](emb_csi), target)
            loss = loss_c + self.reconstruction_weight * loss_r
            self.last["reconstruction"] = float(loss_r.detach())
        self.last["contrastive"] = float(loss_c.detach())
        self._record()
        return loss


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Eq. 16: −(1/N) Σ_i Σ_j m_ij (1 − q_ij)^γ log q_ij, q = softmax(logits), m one-hot."""
    logq = F.log_softmax(logits.float(), dim=-1).gather(1, target.long()[:, None])[:, 0]
    return -((1 - logq.exp()) ** gamma * logq).mean()


class ReconstructionObjective(_EpochMeans, Objective):
    """L_R alone, on a frozen CSI tower: the CRNN fitted afterwards to a model pre-trained
    without one (the `two-tower` variant), the reference for the paper's argument that
    training the CRNN jointly makes the embedding keep the channel."""

    def __init__(self, model, task: str = "csi-feedback"):
        super().__init__(model)
        self.task = task
        self._reset_means()

    def modules_in_use(self):
        return [self.model.heads[self.task]]

    def forward(self, batch) -> torch.Tensor:
        with torch.no_grad():
            emb = self.model.encode(batch, "csi")
            target = self.model.encoders["csi"].transform(batch["csi"])
        loss = F.mse_loss(self.model.heads[self.task](emb), target)
        self.last["reconstruction"] = float(loss.detach())
        self._record()
        return loss


def labelled_focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Eq. 16 over the samples with a beam label (label −1: outage, no best beam); 0 (with a
    gradient path) when none has one."""
    keep = target >= 0
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return focal_loss(logits[keep], target[keep], gamma)


class FocalTask:
    """A task with eq. 16's focal loss in place of its cross-entropy (everything else the task's)."""

    def __init__(self, task, gamma: float):
        self._task, self.gamma = task, gamma

    def __getattr__(self, name):
        return getattr(self._task, name)

    def loss(self, outputs, batch):
        return labelled_focal_loss(outputs, batch["target"].long(), self.gamma)
