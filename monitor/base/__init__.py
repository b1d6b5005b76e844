"""The base layer: what every other layer may import, and which imports nothing of newsmon.

Types and enums that flow between stages (:mod:`.types`), errors (:mod:`.errors`), text
folding and word splitting (:mod:`.text`), alert ids (:mod:`.ids`), the clock (:mod:`.clock`),
and the config models (:mod:`.settings`, :mod:`.fields`, :mod:`.sinkspecs`).
"""
