"""Watch rules: text folding, the query language, and the compiled matcher."""

from monitor.rules.engine import Article, Hit, Match, RuleDefinition, RuleSet
from monitor.rules.query import QueryError, lint_query, parse_query
from monitor.rules.text import html_to_text, snippet, tokenize

__all__ = [
    "Article",
    "Hit",
    "Match",
    "QueryError",
    "RuleDefinition",
    "RuleSet",
    "html_to_text",
    "lint_query",
    "parse_query",
    "snippet",
    "tokenize",
]
