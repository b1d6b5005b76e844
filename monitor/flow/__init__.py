"""The flows that put the stages in order over the store: one feed update (:mod:`.pipeline`,
reading through :mod:`.reader`), delivery (:mod:`.dispatch`), digest cuts (:mod:`.digest`)
and retention (:mod:`.retention`). They report through :mod:`.events`, never to the app.
"""
