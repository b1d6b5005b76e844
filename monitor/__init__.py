"""newsmon: an asynchronous news-feed monitoring daemon."""

__version__ = "0.1.0"
