"""Locust scenario of bench/bench_load.py: deadline day on the portal.

Not run on its own: bench_load.py prepares the database and the servers, writes the plan
(accounts, public paths, timings) to the JSON file named by ``BENCH_LOAD_PLAN`` and starts
``locust --headless`` with this file. Three kinds of simulated people:

- ``Reader`` (anonymous): reads public pages (home, region, dimension, methodology, map),
  1–3 s between pages by default;
- ``Operator`` (agency operator): logs in through the login form once, opens the worklist,
  picks a draft or returned answer, reads it, types for a few seconds and saves it with the
  version it read, as the page's htmx form does (``HX-Request``); after a couple of saves of
  the same answer it saves and submits it. A save is *acknowledged* when the response is the
  "saved" editor; every acknowledged save (answer, version read, version written, the unique
  justification text) is written to the output file, so that the bench checks each one in the
  database afterwards. A stale version (someone saved in between) reloads the answer;
- ``Reviewer``: logs in once, opens the review queue, opens a submitted answer, reads it and
  verifies it at the self-assessed level. Reviewers split the queue by answer id, so that two
  of them never verify the same answer.

Logins (0.5 s of password hashing each) are not part of the measured window: every simulated
person first logs in or waits, then the statistics are reset and the window of
``duration_s`` starts; it ends with ``runner.quit()``. Latencies of the window are recorded
per request name and written, with the acknowledged saves and counters, to ``BENCH_LOAD_OUT``.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter, defaultdict

import gevent
from gevent.event import Event
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

with open(os.environ["BENCH_LOAD_PLAN"], encoding="utf-8") as plan_file:
    PLAN = json.load(plan_file)
OUT = os.environ["BENCH_LOAD_OUT"]
TIMINGS = PLAN["timings"]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WORKLIST_ROW = re.compile(
    r'<tr class="state-row-(\w+)">\s*<th scope="row">\s*'
    r'<a href="(?:/en)?/assessments/answers/(\d+)/"'
)
VERSION = re.compile(r'name="version" value="(\d+)"')
LEVEL_OPTION = re.compile(
    r'<li class="level-option( needs-evidence)?">\s*<input type="radio" name="self_level" '
    r'id="id_self_level_\d" value="(\d)"'
)
QUEUE_LINK = re.compile(r'href="(?:/en)?/assessments/review/answers/(\d+)/')
CHECKED_LEVEL = re.compile(r'name="verified_level" value="(\d)"[^>]*\bchecked')

# --------------------------------------------------------------------------- shared state

OPERATOR_ACCOUNTS = iter(PLAN["operators"])
REVIEWER_SLOTS = itertools.count()
LOGGED_IN_USERS = len(PLAN["operators"]) + len(PLAN["reviewers"])
arrived = 0
window_open = Event()
# Logins hash a password (about 0.5 s of CPU each): at most one per gunicorn worker at a time,
# as people arriving over the morning would, instead of all 45 in the same second.
login_slots = BoundedSemaphore(PLAN["login_concurrency"])
window = {"start": None, "end": None}
latencies: dict[str, list[float]] = defaultdict(list)
failures: Counter = Counter()
failure_samples: list[str] = []
counters: Counter = Counter()
acknowledged: list[dict] = []
login_ms: list[float] = []


def _open_window(environment) -> None:
    if window_open.is_set():
        return
    environment.runner.stats.reset_all()
    window["start"] = time.time()
    window_open.set()
    gevent.spawn_later(TIMINGS["duration_s"], _close_window, environment)


def _close_window(environment) -> None:
    window["end"] = time.time()
    environment.runner.quit()


def _arrive(environment) -> None:
    """One logged-in person is ready; the window opens when all are (or after a bound)."""
    global arrived
    arrived += 1
    if arrived >= LOGGED_IN_USERS:
        _open_window(environment)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    # Should logins take far too long, the window opens anyway; the counters tell.
    gevent.spawn_later(TIMINGS["login_timeout_s"], _open_window, environment)


@events.request.add_listener
def _on_request(request_type, name, response_time, exception, **_kwargs) -> None:
    if not window_open.is_set() or window["end"] is not None:
        return
    latencies[name].append(response_time)
    if exception is not None:
        failures[name] += 1
        if len(failure_samples) < 20:
            failure_samples.append(f"{request_type} {name}: {exception!r}"[:300])


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    end = window["end"] or time.time()
    result = {
        "window_s": (end - window["start"]) if window["start"] else 0.0,
        "latencies_ms": latencies,
        "failures": failures,
        "failure_samples": failure_samples,
        "counters": counters,
        "acknowledged": acknowledged,
        "login_ms": login_ms,
        "arrived": arrived,
    }
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump(result, out)


# --------------------------------------------------------------------------- helpers


class LoopbackCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Send the portal's Secure cookies (session, CSRF) over the loopback's plain HTTP.

    In production TLS ends at a proxy in front of gunicorn, which the bench leaves out; the
    portal keeps its production settings, so its cookies are marked Secure, and a cookie jar
    would not send them over http://127.0.0.1 (the login would fail the CSRF check)."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


def login(user: FastHttpUser, username: str) -> bool:
    """Log in through the login form, once: a wrong form would count towards the lockout."""
    user.client.cookiejar.set_policy(LoopbackCookiePolicy())
    page = user.client.get("/accounts/login/", name="login form")
    token = CSRF.search(page.text or "")
    if token is None:
        counters["login failed"] += 1
        return False
    with login_slots:
        return _post_login(user, username, token.group(1))


def _post_login(user: FastHttpUser, username: str, token: str) -> bool:
    started = time.perf_counter()
    with user.client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": PLAN["password"],
            "csrfmiddlewaretoken": token,
        },
        name="login",
        allow_redirects=False,
        catch_response=True,
    ) as response:
        if response.status_code != 302:
            response.failure(f"login of {username} answered {response.status_code}")
            counters["login failed"] += 1
            counters[f"login failed: HTTP {response.status_code}"] += 1
            return False
        response.success()
    login_ms.append((time.perf_counter() - started) * 1000)
    counters["logged in"] += 1
    return True


def think(low: float, high: float) -> None:
    gevent.sleep(random.uniform(low, high))


# --------------------------------------------------------------------------- people


class Reader(FastHttpUser):
    """An anonymous visitor reading the published results."""

    fixed_count = PLAN["readers"]
    wait_time = between(*TIMINGS["reader_think_s"])
    network_timeout = connection_timeout = TIMINGS["request_timeout_s"]

    def on_start(self) -> None:
        window_open.wait()
        think(0, TIMINGS["reader_think_s"][1])  # not all at the same instant

    @task
    def read(self) -> None:
        name, path = random.choices(
            PLAN["public_paths"], weights=[weight for _, _, weight in PLAN["public_paths"]]
        )[0][:2]
        self.client.get(path, name=name)


class Operator(FastHttpUser):
    """An agency operator filling in answers before the deadline."""

    fixed_count = len(PLAN["operators"])
    wait_time = between(*TIMINGS["operator_pause_s"])
    network_timeout = connection_timeout = TIMINGS["request_timeout_s"]

    def on_start(self) -> None:
        self.username = next(OPERATOR_ACCOUNTS)
        ok = login(self, self.username)
        _arrive(self.environment)
        if not ok:
            raise StopUser
        window_open.wait()
        think(0, TIMINGS["operator_typing_s"][1])  # not all at the same instant
        self.open: list[int] = []
        self.saves: Counter = Counter()
        self.since_worklist = 0
        self.load_worklist()

    def load_worklist(self) -> None:
        response = self.client.get("/assessments/worklist/", name="operator: worklist")
        self.open = [
            int(pk)
            for state, pk in WORKLIST_ROW.findall(response.text or "")
            if state in ("draft", "returned")
        ]
        self.since_worklist = 0

    @task
    def work_on_an_answer(self) -> None:
        if not self.open or self.since_worklist >= 5:
            self.load_worklist()
            if not self.open:
                counters["operator found no open answer"] += 1
                return
        self.since_worklist += 1
        answer_id = random.choice(self.open)
        url = f"/assessments/answers/{answer_id}/"
        page = self.client.get(url, name="operator: answer page").text or ""
        version, token = VERSION.search(page), CSRF.search(page)
        if 'id="answer-form"' not in page or version is None or token is None:
            self.open.remove(answer_id)  # submitted meanwhile, or not editable
            return
        levels = [int(level) for needs, level in LEVEL_OPTION.findall(page) if not needs]
        think(*TIMINGS["operator_typing_s"])
        read_version = int(version.group(1))
        text = (
            f"Capaian per {time.strftime('%H:%M:%S')}: layanan berjalan di seluruh unit kerja. "
            f"[bench-load {uuid.uuid4().hex}]"
        )
        form = {
            "csrfmiddlewaretoken": token.group(1),
            "version": str(read_version),
            "self_level": str(random.choice(levels)) if levels else "",
            "justification": text,
            "links": "",
            "action": "save",
        }
        saved = self.save(url, answer_id, form, read_version)
        if saved is None:
            return
        self.saves[answer_id] += 1
        if self.saves[answer_id] >= 2 and random.random() < TIMINGS["submit_share"]:
            think(*TIMINGS["operator_pause_s"])
            self.submit(url, answer_id, {**form, "version": str(saved), "action": "submit"})

    def save(self, url: str, answer_id: int, form: dict, read_version: int) -> int | None:
        """POST the answer form as htmx does; returns the version written when acknowledged."""
        headers = {"HX-Request": "true", "HX-Target": "answer-editor"}
        with self.client.post(
            url, data=form, headers=headers, name="operator: save answer", catch_response=True
        ) as response:
            body = response.text or ""
            if response.status_code != 200:
                response.failure(f"save answered {response.status_code}")
                return None
            if "has-conflict" in body:
                counters["save refused: stale version (reloaded)"] += 1
                response.success()
                return None
            written = VERSION.search(body)
            if "editor-status-success" not in body or written is None:
                counters["save refused by the workflow"] += 1
                response.success()
                return None
            response.success()
        acknowledged.append(
            {
                "answer": answer_id,
                "read_version": read_version,
                "version": int(written.group(1)),
                "justification": form["justification"],
                "user": self.username,
                "at": time.time(),
            }
        )
        return int(written.group(1))

    def submit(self, url: str, answer_id: int, form: dict) -> None:
        headers = {"HX-Request": "true", "HX-Target": "answer-editor"}
        with self.client.post(
            url, data=form, headers=headers, name="operator: submit answer", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"submit answered {response.status_code}")
                return
            response.success()
            if response.headers.get("HX-Redirect"):
                counters["answers submitted"] += 1
                if answer_id in self.open:
                    self.open.remove(answer_id)
            elif "has-conflict" in (response.text or ""):
                counters["submit refused: stale version"] += 1
            else:
                counters["submit refused by the workflow (incomplete)"] += 1


class Reviewer(FastHttpUser):
    """A reviewer of the province verifying submitted answers."""

    fixed_count = len(PLAN["reviewers"])
    wait_time = between(*TIMINGS["reviewer_pause_s"])
    network_timeout = connection_timeout = TIMINGS["request_timeout_s"]

    def on_start(self) -> None:
        slot = next(REVIEWER_SLOTS)
        self.slot, self.slots = slot, len(PLAN["reviewers"])
        ok = login(self, PLAN["reviewers"][slot])
        _arrive(self.environment)
        if not ok:
            raise StopUser
        window_open.wait()
        think(0, TIMINGS["reviewer_reading_s"][1])  # not all at the same instant

    @task
    def verify_one(self) -> None:
        queue = self.client.get("/assessments/review/", name="reviewer: queue").text or ""
        mine = sorted(
            {int(pk) for pk in QUEUE_LINK.findall(queue) if int(pk) % self.slots == self.slot}
        )
        if not mine:
            counters["reviewer found nothing to verify"] += 1
            return
        answer_id = random.choice(mine)
        page = (
            self.client.get(
                f"/assessments/review/answers/{answer_id}/", name="reviewer: answer page"
            ).text
            or ""
        )
        token, level = CSRF.search(page), CHECKED_LEVEL.search(page)
        if token is None or level is None:
            counters["reviewer: answer not verifiable"] += 1
            return
        think(*TIMINGS["reviewer_reading_s"])
        with self.client.post(
            f"/assessments/review/answers/{answer_id}/verify/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "verified_level": level.group(1),
                "reason": "",
                "comment": "",
            },
            name="reviewer: verify answer",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                counters["answers verified"] += 1
                response.success()
            else:
                response.failure(f"verify answered {response.status_code}")
