"""gunicorn's settings for the web process (Procfile: `gunicorn -c config/gunicorn.conf.py config.wsgi`).

Threaded workers (gthread) by default: a process serves many requests at once and keeps connections
alive, and the LINE webhook POSTs that one process has waiting on the database at the same time are
written in one insert and one commit (messaging.webhooks.intake.GroupCommit). Each process holds at most
``threads`` database connections (Django opens one a thread), so workers x threads must stay under
PostgreSQL's max_connections with the Celery workers' connections added.

WEB_WORKER_CLASS=gevent runs gevent workers instead: requests are greenlets on one event loop per process,
database connections are borrowed from a pool of DB_POOL_MAX_SIZE a process (default 16; config/settings.py),
and the group commit gathers every POST that is ready. On 2 CPUs that answered about twice the one-event
webhook POSTs a second, but at 100 events a POST it was no faster (bench/README.md). Work that holds the
CPU for long belongs in Celery there: a greenlet that never waits holds up its process's other requests.

Environment: WEB_CONCURRENCY (processes, default one a CPU and at least 2), WEB_THREADS (gthread: threads
each, default 32), WEB_WORKER_CONNECTIONS (gevent: simultaneous clients a process, default 1000),
DB_POOL_MAX_SIZE (gevent), WEB_PORT and WEB_BIND.
"""

import os

bind = os.environ.get("WEB_BIND", f"0.0.0.0:{os.environ.get('WEB_PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
if worker_class == "gthread":
    threads = int(os.environ.get("WEB_THREADS", 32))
elif worker_class == "gevent":
    worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", 1000))
    raw_env = [f"DB_POOL_MAX_SIZE={os.environ.get('DB_POOL_MAX_SIZE', '16')}"]
# LINE waits 2 s for a webhook's answer; nothing we serve should take 30 s.
timeout = 30
keepalive = 5
backlog = 2048
