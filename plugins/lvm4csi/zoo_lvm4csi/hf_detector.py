"""Open-vocabulary path detection with a text prompt through `transformers` (OWLv2, Grounding DINO).

The paper prompts DINO-X, an API-only model, to find the bright spots of the angular-delay
image; any zero-shot detector of transformers' `AutoModelForZeroShotObjectDetection` can stand in
where its weights are reachable (Hub or local cache). Its boxes come back in normalised
(cx, cy, w, h) of the (square-padded, for OWLv2) input and are mapped to the bin coordinates
of `zoo_lvm4csi.dft` (pixel k spans [k, k+1) there, centred on bin k).

`from_pretrained(..., revision=<commit sha>)` pins the Hub commit of both the processor and the
weights (transformers' `revision`); without it transformers takes the newest commit of the
repo named in `KINDS`. No default shas are shipped (none could be verified offline here):
pin the one you have checked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .detection import Detections, Detector
from .errors import DetectorUnavailable

KINDS = {
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "grounding-dino": "IDEA-Research/grounding-dino-tiny",
}
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ZeroShotDetector(Detector):
    """A transformers zero-shot detector prompted with text (default "a bright spot").

    With a `processor` the model's own preprocessing (tokenizer, resize, pad, normalise) is used;
    without one (tests, custom models) pass the tokenised prompt as `input_ids` and the image is
    resized to `image_size` and normalised with `mean`/`std` here."""

    name = "zero-shot"

    def __init__(self, model, processor=None, prompt: str = "a bright spot", threshold: float = 0.1,
                 nms_iou: float = 0.3, max_detections: int = 32, input_ids: torch.Tensor | None = None,
                 image_size: int | None = None, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD,
                 pads_to_square: bool | None = None):
        self.model = model.eval()
        self.processor = processor
        self.prompt = prompt
        self.threshold, self.nms_iou, self.max_detections = float(threshold), float(nms_iou), int(max_detections)
        if processor is None and input_ids is None:
            raise DetectorUnavailable("a ZeroShotDetector without a processor needs the tokenised prompt as input_ids")
        self.input_ids = None if input_ids is None else torch.as_tensor(input_ids).reshape(1, -1)
        vision = getattr(model.config, "vision_config", None)
        self.image_size = int(image_size or getattr(vision, "image_size", 0) or 960)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        kind = getattr(model.config, "model_type", "")
        self.pads_to_square = ("owl" in kind) if pads_to_square is None else pads_to_square

    @classmethod
    def from_pretrained(cls, repo: str | None = None, kind: str = "owlv2", local_files_only: bool | None = None,
                        revision: str | None = None, **kwargs) -> ZeroShotDetector:
        """Load weights and processor; `DetectorUnavailable` (use detector="peak") if unreachable.

        `revision`: the Hub commit sha (or tag/branch) of `repo` to load, for processor and
        weights alike; None takes the newest commit, unpinned — pin it."""
        repo = repo or KINDS.get(kind)
        if repo is None:
            raise DetectorUnavailable(f"unknown detector kind {kind!r}; known: {', '.join(KINDS)}")
        try:
            from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor
        except ImportError as exc:
            raise DetectorUnavailable("the zero-shot detector needs transformers: pip install 'wzoo-lvm4csi[detector]'") from exc
        extra = {} if local_files_only is None else {"local_files_only": local_files_only}
        if revision:
            extra["revision"] = revision
        try:
            processor = AutoProcessor.from_pretrained(repo, **extra)
            model = AutoModelForZeroShotObjectDetection.from_pretrained(repo, **extra)
        except Exception as exc:
            at = f"@{revision}" if revision else ""
            raise DetectorUnavailable(
                f"weights of the zero-shot detector {repo!r}{at} are not reachable ({type(exc).__name__}); "
                "download them on a machine with Hub access (they go to the Hugging Face cache) or "
                "use the offline detector: --set detector=peak") from None
        return cls(model, processor, **kwargs)

    def _inputs(self, images: torch.Tensor) -> dict:
        b = images.shape[0]
        if self.processor is not None:
            pics = [img.permute(1, 2, 0).clamp(0, 1).mul(255).round().to(torch.uint8).numpy() for img in images]
            text = [[self.prompt]] * b if self.pads_to_square else [self.prompt.rstrip(".") + "."] * b
            return dict(self.processor(text=text, images=pics, return_tensors="pt"))
        h, w = images.shape[-2:]
        side = max(h, w)
        x = images.to(torch.float32)
        if self.pads_to_square and h != w:  # OWL pads bottom/right to a square
            x = F.pad(x, (0, side - w, 0, side - h), value=0.5)
        x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        ids = self.input_ids.expand(b, -1)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": x}

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> list[Detections]:
        from torchvision.ops import box_convert, nms

        h, w = images.shape[-2:]
        out = self.model(**self._inputs(images))
        scores = out.logits.sigmoid().amax(-1)  # (B, Q): best match to any prompt token / query
        boxes = box_convert(out.pred_boxes.float(), "cxcywh", "xyxy")
        sx, sy = (max(h, w), max(h, w)) if self.pads_to_square else (w, h)
        boxes = boxes * torch.tensor([sx, sy, sx, sy], dtype=boxes.dtype) - 0.5  # → bin coordinates
        result = []
        for s, bx in zip(scores, boxes):
            keep = (s >= self.threshold).nonzero()[:, 0]
            s, bx = s[keep], bx[keep]
            keep = nms(bx, s, self.nms_iou)[: self.max_detections]
            result.append(Detections(bx[keep], s[keep]))
        return result
