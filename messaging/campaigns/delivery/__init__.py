"""The delivery engine: start a due campaign once, freeze its audience into batches, send them through the
shared rate limiter, and recover from anything (killed workers, lost tasks, dropped responses, 429s, 5xx).

Exactly once comes from two rules: a batch's retry key is stored with the batch before its first request and
every attempt reuses it (LINE answers 409 to a key it already accepted, which counts as accepted), and a
batch is only marked accepted after LINE said 200/202/409. At least once comes from leases and heartbeats:
a batch claimed by a worker that died is taken over when its short lease runs out, and the sweeper restarts
whatever stopped (a start, a freezer or senders whose task was lost).

Modules: ``start`` (scheduled -> sending), ``freeze`` (audience -> batches), ``leases`` (claims, heartbeat,
outcome rows), ``sender`` (the sending loop), ``calls`` (the LINE requests), ``finish`` (completion,
narrowcast progress, the sweeper).
"""

from .calls import personalised
from .finish import campaign_finish_if_complete, deliveries_sweep, narrowcast_poll
from .freeze import FIRST_CHUNK_BATCHES, campaign_freeze_step
from .leases import ACTIVE, batch_claim, batches_claim, leases_renew
from .sender import campaign_send_loop
from .start import campaign_start, due_campaign_pks, tell_marketer

__all__ = [
    "ACTIVE", "FIRST_CHUNK_BATCHES", "batch_claim", "batches_claim", "campaign_finish_if_complete",
    "campaign_freeze_step", "campaign_send_loop", "campaign_start", "deliveries_sweep", "due_campaign_pks",
    "leases_renew", "narrowcast_poll", "personalised", "tell_marketer",
]
