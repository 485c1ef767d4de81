"""The match service: hit/no-hit *between* Signaal deployments (issue 12).

A small separate process (``signaal match-service serve``) with its own settings
(``SIGNAAL_MATCH_SERVICE_*``, :mod:`.settings`) and its own store (:mod:`.store`). Deployments
(a police installation, a care installation) are registered by the operator with a name, a
contact route and the purposes they take part in, and get a bearer token that is shown once.
Each deployment submits, per purpose, keyed Bloom-filter encodings of its subjects (made with
:class:`signaal.privacy.matching.Matcher` under the secret the deployments share for that
purpose, never plain values) with its own opaque references, and withdraws them when the
subject is erased. It learns, per reference, only which other deployment holds a match and how
to reach it (:mod:`.service`); the HTTP adapter is :mod:`.app`, the wire format :mod:`.wire`.
"""
