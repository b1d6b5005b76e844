"""Configuration: YAML with positions, validated into frozen settings."""

from monitor.base.settings import FeedSpec, RuleSpec, Settings
from monitor.config.loader import LoadedConfig, load_config

__all__ = ["FeedSpec", "LoadedConfig", "RuleSpec", "Settings", "load_config"]
