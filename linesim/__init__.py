"""linesim: a stand-in for the LINE Messaging API platform.

A separate process (``python -m linesim --port 8090``) that answers the Messaging API
paths the way LINE does, keeps a ledger of what was sent, and plays LINE users by
sending signed webhooks.  It never imports the Django apps: it is the "other side"
of the wire.  See README.md in this directory for the control API.
"""

__version__ = "1.0"
