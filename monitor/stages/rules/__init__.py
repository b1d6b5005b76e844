"""Watch rules: the query language, word keys, and the compiled matcher."""

from monitor.stages.rules.engine import RuleSet
from monitor.stages.rules.model import Article, Hit, Match, RuleDefinition
from monitor.stages.rules.nodes import QueryError
from monitor.stages.rules.query import lint_query, parse_query
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
