"""Locust users for ``bench/web_load.py``: analysts reading "Mijn gemeente", the triage queue
and persona pages of one stored analysis. Run by ``web_load.py`` (``locust -f`` this file,
headless); it reads what to ask for from the JSON file named by ``SIGNAAL_BENCH_TARGETS``:

    {"email": ..., "password": ..., "personas": [...], "places": [...], "regions": [...],
     "triage": [{"plaats": ...}, {"niveau": ...}, ...]}

Each user logs in once, one after the other (a demo account: no second factor in
development), and then, with 1-3 s of thinking between requests, opens one of the three pages.
``/healthz`` is asked for too, as the baseline: the same server and machine under the same load,
without a page to build.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urlencode

from gevent.lock import Semaphore
from locust import HttpUser, between, task

TARGETS = json.loads(Path(os.environ["SIGNAAL_BENCH_TARGETS"]).read_text(encoding="utf-8"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# One login at a time: the login throttle claims a count per attempt before checking it, so
# twenty logins to one account at once are refused as a burst (docs/web.md, "Login throttling").
LOGIN = Semaphore()


class Analyst(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        with LOGIN:
            self._login()

    def _login(self) -> None:
        page = self.client.get("/login", name="login (not timed)")
        token = CSRF.search(page.text)
        if token is None:
            raise RuntimeError("the login page has no CSRF token")
        answer = self.client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "email": TARGETS["email"],
                "password": TARGETS["password"],
                "volgende": "/dashboard",
            },
            name="login (not timed)",
        )
        if "/login" in answer.url:
            raise RuntimeError(f"login failed: {answer.status_code} at {answer.url}")

    @task(3)
    def local_picture_municipality(self) -> None:
        place = random.choice(TARGETS["places"])
        query = urlencode({"plaats": place, "soort": "gemeente"})
        self.client.get(f"/mijn-gemeente?{query}", name="mijn-gemeente (municipality)")

    @task(1)
    def local_picture_region(self) -> None:
        kind, place = random.choice(TARGETS["regions"])
        query = urlencode({"plaats": place, "soort": kind})
        self.client.get(f"/mijn-gemeente?{query}", name="mijn-gemeente (region)")

    @task(4)
    def triage_queue(self) -> None:
        query = urlencode(random.choice(TARGETS["triage"]))
        self.client.get(f"/analyse/triage?{query}", name="triage queue")

    @task(4)
    def persona_page(self) -> None:
        persona = random.choice(TARGETS["personas"])
        self.client.get(f"/analyse/personas/{persona}?doel=assess_signal", name="persona page")

    @task(2)
    def healthz(self) -> None:
        self.client.get("/healthz", name="healthz (baseline)")
