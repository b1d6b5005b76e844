"""The running process: the daemon's wiring (:mod:`.daemon`), its clock (:mod:`.jobs`),
admission of polls (:mod:`.admission`), config reloads (:mod:`.reload`), signals
(:mod:`.lifecycle`), health and metrics (:mod:`.endpoint`, :mod:`.metrics`), systemd
(:mod:`.systemd`) and logging (:mod:`.log`).
"""
