"""GET /_sim/: a page of simulated phones, one per user, to watch and to act as them.

Plain server-rendered HTML with a little inline JS (no CDN): buttons post JSON to the
control API and reload; the page refreshes itself unless you are typing.
"""

from __future__ import annotations

import json
from html import escape

from starlette.responses import HTMLResponse, Response

from .ledger import iso, received_by

MAX_ITEMS = 30  # messages per phone
MAX_PHONES = 40  # phones per channel (benchmarks may register thousands of users)

STYLE = """
body{font-family:system-ui,sans-serif;background:#eef1f4;margin:0;padding:1rem}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.phones{display:flex;flex-wrap:wrap;gap:1rem}
.phone{width:300px;height:560px;border:10px solid #222;border-radius:28px;background:#8cabd9;
 display:flex;flex-direction:column;overflow:hidden}
.bar{background:#222;color:#fff;padding:.4rem .6rem;font-size:.85rem}
.bar small{color:#aaa;display:block;font-size:.7rem}
.chat{flex:1;overflow-y:auto;padding:.5rem;display:flex;flex-direction:column;gap:.35rem}
.msg{max-width:80%;padding:.35rem .55rem;border-radius:12px;font-size:.85rem;white-space:pre-wrap;
 word-break:break-word}
.in{background:#fff;align-self:flex-start}.out{background:#06c755;color:#fff;align-self:flex-end}
.box{border:1px solid #ccc;background:#fafafa;color:#333;border-radius:8px;padding:.3rem;font-size:.8rem}
.box b{display:block}.btn{display:block;border-top:1px solid #ddd;color:#2a62c9;text-align:center}
.meta{font-size:.65rem;color:#445}
.controls{background:#f5f5f5;padding:.4rem;display:flex;flex-wrap:wrap;gap:.25rem}
.controls input{flex:1 1 100%;padding:.3rem}.controls button{font-size:.75rem}
img.thumb{max-width:160px;border-radius:8px}
"""

SCRIPT = """
async function act(cid, uid, action, body) {
  const r = await fetch(`/_sim/channels/${cid}/users/${uid}/${action}`, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
  if (!r.ok) alert(await r.text());
  location.reload();
}
function say(cid, uid) {
  const box = document.getElementById('t-' + uid);
  if (box.value) act(cid, uid, 'text', {text: box.value});
}
async function addUser(cid) {
  const name = prompt('Display name of the new user?');
  if (!name) return;
  await fetch(`/_sim/channels/${cid}/users`, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({displayName: name})});
  location.reload();
}
setInterval(() => {
  const busy = [...document.querySelectorAll('input')].some(i => i.value || i === document.activeElement);
  if (!busy) location.reload();
}, 3000);
window.addEventListener('load', () => document.querySelectorAll('.chat').forEach(c => c.scrollTop = c.scrollHeight));
"""


def _action_labels(actions) -> str:
    return "".join(
        f'<span class="btn">{escape(str(a.get("label", a.get("type", ""))))}</span>'
        for a in actions or []
        if isinstance(a, dict)
    )


def render_message(m: dict) -> str:
    """One message object as simple HTML: text as a bubble, everything else as a box."""
    kind = m.get("type")
    if kind in ("text", "textV2"):
        return escape(m.get("text", ""))
    if kind == "image":
        return f'<img class="thumb" src="{escape(m.get("previewImageUrl", ""))}" alt="image">'
    if kind == "sticker":
        return f'<div class="box">sticker {escape(str(m.get("packageId")))}/{escape(str(m.get("stickerId")))}</div>'
    if kind == "template":
        t = m.get("template") or {}
        columns = t.get("columns") or [t]
        inner = "".join(
            f"<b>{escape(str(c.get('title', '')))}</b>{escape(str(c.get('text', '')))}"
            f"{_action_labels(c.get('actions') or [c.get('action')])}"
            for c in columns
        )
        return f'<div class="box"><b>[{escape(str(t.get("type")))}]</b>{inner}</div>'
    if kind in ("flex", "imagemap"):
        return f'<div class="box"><b>[{kind}]</b>{escape(str(m.get("altText", "")))}</div>'
    if kind == "location":
        return f'<div class="box"><b>📍 {escape(str(m.get("title", "")))}</b>{escape(str(m.get("address", "")))}</div>'
    return f'<div class="box">[{escape(str(kind))}]</div>'


def render_event(event: dict) -> str | None:
    """What the user did, as it shows on their own phone."""
    kind = event.get("type")
    if kind == "message":
        m = event.get("message", {})
        if m.get("type") == "image":
            return f'<img class="thumb" src="/_sim/content/{escape(m["id"])}" alt="image">'
        if m.get("type") == "text":
            return escape(m.get("text", ""))
        return f"[{escape(str(m.get('type')))}]"
    if kind == "postback":
        return f"[postback] {escape(str(event.get('postback', {}).get('data', '')))}"
    return f"[{escape(str(kind))}]"


def phone(sim, channel, user) -> str:
    items = []
    for item in received_by(sim.ledger, channel, user.user_id):
        for m in item["messages"]:
            items.append(
                (
                    item["acceptedAt"],
                    f'<div class="msg in">{render_message(m)}<div class="meta">{escape(item["endpoint"])}</div></div>',
                )
            )
    for _, event in (v for v in sim.events.values() if v[0] == channel.channel_id):
        if (event.get("source") or {}).get("userId") == user.user_id:
            html = render_event(event)
            if html:
                items.append((iso(event["timestamp"] / 1000), f'<div class="msg out">{html}</div>'))
    items.sort(key=lambda pair: pair[0])
    chat = "".join(html for _, html in items[-MAX_ITEMS:])
    cid, uid = escape(channel.channel_id), escape(user.user_id)
    js = f"'{cid}','{uid}'"
    return f"""<div class="phone"><div class="bar">{escape(user.display_name)} ({user.state})
<small>{uid}</small></div><div class="chat">{chat}</div><div class="controls">
<input id="t-{uid}" placeholder="Type a message" onkeydown="if(event.key==='Enter')say({js})">
<button onclick="say({js})">Send</button>
<button onclick="act({js},'follow')">Follow</button><button onclick="act({js},'unfollow')">Unfollow</button>
<button onclick="act({js},'image')">Image</button>
<button onclick="act({js},'sticker',{{packageId:'446',stickerId:'1988'}})">Sticker</button></div></div>"""


async def index(request):
    sim = request.app.state.sim
    sections = []
    for channel in sim.channels.values():
        users = list(channel.users.values())
        phones = "".join(phone(sim, channel, u) for u in users[:MAX_PHONES])
        if len(users) > MAX_PHONES:
            phones += f"<p>…and {len(users) - MAX_PHONES} more users (see /_sim/channels/…/users).</p>"
        sections.append(
            f"<h2>{escape(channel.display_name)} <small>#{escape(channel.channel_id)} → "
            f"{escape(channel.webhook_url or '(no webhook URL)')}</small> "
            f"<button onclick=\"addUser('{escape(channel.channel_id)}')\">Add user</button></h2>"
            f'<div class="phones">{phones or "<p>No users yet.</p>"}</div>'
        )
    summary = escape(json.dumps(sim.ledger.summary()))
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>linesim</title>"
        f"<style>{STYLE}</style></head><body><h1>linesim: simulated LINE users</h1>"
        f"<p class='meta'>{summary}</p>{''.join(sections) or '<p>No channels registered.</p>'}"
        f"<script>{SCRIPT}</script></body></html>"
    )
    return HTMLResponse(html)


async def content(request):
    """Media a simulated user sent, for the page (the API route needs a channel token)."""
    item = request.app.state.sim.contents.get(request.path_params["messageId"])
    if item is None:
        return Response(status_code=404)
    return Response(item.data, media_type=item.content_type)
