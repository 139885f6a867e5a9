"""The built-in bone-metastasis immune-niche model, assembled from named modules."""

from .arms import default_arms as default_arms
from .arms import scenario_arms as scenario_arms
from .model import bone_metastasis as bone_metastasis

__all__ = ["bone_metastasis", "default_arms", "scenario_arms"]
