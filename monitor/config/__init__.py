"""Configuration: YAML with positions, validated into frozen settings."""

from monitor.config.loader import LoadedConfig, load_config
from monitor.config.schema import FeedSpec, RuleSpec, Settings

__all__ = ["FeedSpec", "LoadedConfig", "RuleSpec", "Settings", "load_config"]
