"""Watch rules: the query language, word keys, and the compiled matcher."""

from monitor.stages.rules.engine import Article, Hit, Match, RuleDefinition, RuleSet
from monitor.stages.rules.query import QueryError, lint_query, parse_query
from monitor.stages.rules.words import snippet, tokenize

__all__ = [
    "Article",
    "Hit",
    "Match",
    "QueryError",
    "RuleDefinition",
    "RuleSet",
    "lint_query",
    "parse_query",
    "snippet",
    "tokenize",
]
