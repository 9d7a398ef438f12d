from .permissions import Perm, can, can_connect_channels
from .selectors import channels_for


def staff_context(request):
    """The channel switcher and the current channel's permissions, for base.html."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    channel = getattr(request, "channel", None)
    perms = {p.value: can(user, channel, p) for p in Perm} if channel else {}
    return {
        "my_channels": channels_for(user),
        "current_channel": channel,
        "channel_perms": perms,
        "can_connect_channels": can_connect_channels(user),
    }
