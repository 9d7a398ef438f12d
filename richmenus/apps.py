from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RichmenusConfig(AppConfig):
    name = "richmenus"
    verbose_name = _("Rich menus")
