"""Watch rules: text folding, the query language, and the compiled matcher."""

from monitor.rules.engine import Article, Hit, Match, RuleSet
from monitor.rules.query import QueryError, parse_query
from monitor.rules.text import html_to_text, snippet, tokenize

__all__ = [
    "Article",
    "Hit",
    "Match",
    "QueryError",
    "RuleSet",
    "html_to_text",
    "parse_query",
    "snippet",
    "tokenize",
]
