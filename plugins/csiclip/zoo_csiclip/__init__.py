"""CSI-CLIP for wzoo: CIR and CSI of one link as a contrastive pair (Jiang et al., "A MIMO Wireless
Channel Foundation Model via CIR-CSI Consistency").

Importing this package is cheap (no torch): the registration module `zoo_csiclip.plugin` only
declares names. `zoo_csiclip.official.load_official` loads the authors' released weights.
"""

__version__ = "0.1.0"
