"""The ad monitor's work on stored analyses: the triage queue and its decisions.

Services above the store (:mod:`signaal.store.triage` holds the rows and queries): every read
and write asks :func:`signaal.chain.authz.allowed` and is audited here.
"""
