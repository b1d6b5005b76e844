"""The stages of a feed update and of a delivery, each on its own; they import only the base.

Fetching (:mod:`.fetch`, :mod:`.addresses`), parsing (:mod:`.parse`, :mod:`.xmlsafe`,
:mod:`.jsonfeed`, :mod:`.scan`, :mod:`.discover`), a poll's feed-level decisions
(:mod:`.polling`, :mod:`.schedule`), identity and change (:mod:`.identity`, :mod:`.decide`),
stories (:mod:`.stories`), matching (:mod:`.rules`, :mod:`.matching`, :mod:`.articles`),
alert payloads and messages (:mod:`.alerts`, :mod:`.message`), digests (:mod:`.digests`) and
sinks (:mod:`.sinks`). Where a stage decides, it is a pure function or a frozen decider,
tested with tables; I/O is only in fetch, parse's worker pool and the sinks.
"""
