"""Safety: the risk that an answer makes a deadly or poisonous mushroom look safe (see `champy.safety.risk`)."""

from champy.safety.profile import SafetyProfile, profile_path, read_profile
from champy.safety.risk import LEVELS, Risk, assess_risk

__all__ = ["LEVELS", "Risk", "SafetyProfile", "assess_risk", "profile_path", "read_profile"]
