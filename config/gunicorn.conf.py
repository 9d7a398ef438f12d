"""gunicorn's settings for the web process (Procfile: `gunicorn -c config/gunicorn.conf.py`).

uvicorn workers (the uvicorn-worker package) by default, serving config.asgi: each process runs one
asyncio event loop. LINE's webhook POSTs are answered on the loop itself (messaging.webhooks.asgi): a POST
waiting for its commit is a coroutine, and the loop's group commit writes every waiting POST in one
insert and one commit. The rest of the site runs through Django's ASGI handler, each request's
synchronous code in a thread of its own, its database connection borrowed from a pool of
DB_POOL_MAX_SIZE a process (default 16; Django's ASGI mode wants a pool rather than persistent
connections). On 2 CPUs this answered about 3 times the one-event webhook POSTs a second of the threaded
workers, with ~1 context switch a request against their ~17 (bench/README.md).

WEB_WORKER_CLASS=gthread runs threaded WSGI workers (config.wsgi) instead: a process serves many
requests at once, each on a thread holding its own database connection (at most ``threads`` a process, so
workers x threads must stay under PostgreSQL's max_connections with the Celery workers' added), and the
webhook POSTs waiting at the same time share a writer thread's insert (intake.GroupCommit).
WEB_WORKER_CLASS=gevent runs gevent WSGI workers with the same pool as uvicorn's.

Environment: WEB_WORKER_CLASS (uvicorn, gthread or gevent), WEB_CONCURRENCY (processes, default one a
CPU and at least 2), WEB_THREADS (gthread: threads each, default 32), WEB_WORKER_CONNECTIONS (gevent:
simultaneous clients a process, default 1000), DB_POOL_MAX_SIZE, WEB_PORT and WEB_BIND.
"""

import os

bind = os.environ.get("WEB_BIND", f"0.0.0.0:{os.environ.get('WEB_PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
worker_class = os.environ.get("WEB_WORKER_CLASS", "uvicorn")
if worker_class == "gthread":
    wsgi_app = "config.wsgi:application"
    threads = int(os.environ.get("WEB_THREADS", 32))
else:
    raw_env = [f"DB_POOL_MAX_SIZE={os.environ.get('DB_POOL_MAX_SIZE', '16')}"]
    if worker_class == "uvicorn":
        worker_class = "uvicorn_worker.UvicornWorker"
        wsgi_app = "config.asgi:application"  # an ASGI application: gunicorn's name for the setting
    else:
        wsgi_app = "config.wsgi:application"
        worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", 1000))
# LINE waits 2 s for a webhook's answer; nothing we serve should take 30 s.
timeout = 30
keepalive = 5
backlog = 2048


def post_worker_init(worker):
    """Once a worker has loaded the application, its objects so far (Django's apps, models, modules:
    ~87,000) go to the garbage collector's permanent generation. A full collection walked all of them,
    a pause of ~50 ms for every request in flight on this machine; frozen, it walks only what requests
    have left since."""
    import gc

    gc.collect()
    gc.freeze()
