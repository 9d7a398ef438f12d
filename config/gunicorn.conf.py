"""gunicorn's settings for the web process (Procfile: `gunicorn -c config/gunicorn.conf.py config.wsgi`).

Threaded workers (gthread): a process serves many requests at once and keeps connections alive, and the
LINE webhook POSTs that one process has waiting on the database at the same time are written in one
insert and one commit (messaging.webhooks.intake.GroupCommit). Each process holds at most ``threads``
database connections (Django opens one a thread), so workers x threads must stay under PostgreSQL's
max_connections with the Celery workers' connections added.

WEB_CONCURRENCY (processes, default one a CPU and at least 2), WEB_THREADS (threads each, default 32),
WEB_PORT and WEB_BIND may be set in the environment. Fewer processes with more threads make larger group
commits: on 2 CPUs, 2 x 32 spent ~90 µs of PostgreSQL CPU a 1-event POST against ~160 µs for 3 x 16, whose
three writers each commit smaller batches (a commit's WAL flush costs ~400 µs of CPU here, whatever its
size), and answered a third more POSTs a second (bench/README.md).
"""

import os

bind = os.environ.get("WEB_BIND", f"0.0.0.0:{os.environ.get('WEB_PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", 32))
# LINE waits 2 s for a webhook's answer; nothing we serve should take 30 s.
timeout = 30
keepalive = 5
backlog = 2048
