"""``signaal worker``: runs the scheduled system jobs (purging expired analysis runs, deleting
protective watches past their end date, reminders) without a person, on SQLite and PostgreSQL.

- :mod:`signaal.worker.schedule`: when a job is due (an interval such as ``15m`` or a cron
  expression), pure functions of the clock.
- :mod:`signaal.worker.jobs`: the registry of jobs, each a call of an existing service as the
  system actor; adding a job is one entry in :data:`~signaal.worker.jobs.JOBS`.
- :mod:`signaal.worker.runner`: claims due jobs through their row in ``worker_jobs``
  (:mod:`signaal.store.worker_jobs`), runs each in its own transaction and records the outcome.

This package's ``__init__`` imports nothing: the settings import the schedule parser.
"""
