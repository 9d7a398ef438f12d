"""python -m linesim --port 8090 [--host 127.0.0.1] [--no-rate-limits]"""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m linesim", description="A stand-in for the LINE Messaging API platform."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="start with LINE's rate limits switched off (POST /_sim/config can change it)",
    )
    parser.add_argument(
        "--webhook-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the app to answer a webhook (LINE itself waits ~2)",
    )
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--access-log", action="store_true", help="log every request (slow at benchmark rates)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    app = create_app(rate_limits=not args.no_rate_limits, webhook_timeout=args.webhook_timeout)
    print(f"linesim listening on http://{args.host}:{args.port} (control page: /_sim/)", flush=True)
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log, lifespan="off"
    )


if __name__ == "__main__":
    main()
