"""The Grafana dashboards compose/ provisions, and the metric names their PromQL queries."""

from __future__ import annotations

import re
from pathlib import Path

COMPOSE = Path(__file__).resolve().parents[2] / "compose"
DASHBOARDS = sorted((COMPOSE / "grafana" / "dashboards").glob("*.json"))
KEYWORDS = {"by", "without", "and", "or", "unless", "offset", "bool", "on", "ignoring", "group_left", "group_right"}


def queried_metric_names(expr: str) -> set[str]:
    """Every metric name in ``expr``: what is left once strings, label matchers, ranges, grouping
    clauses, numbers, keywords and function names (a word followed by "(") are taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\b\d+(?:\.\d+)?(?:e-?\d+)?\b", "", e)
    return {word for word, call in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\(?)", e)
            if not call and word not in KEYWORDS}


def exposed_names(text: str) -> set[str]:
    """The sample names a /metrics exposition has (histograms' _bucket/_sum/_count included)."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        if kind == "counter" and not name.endswith("_total"):
            names.add(f"{name}_total")
    names |= set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M))
    return names
