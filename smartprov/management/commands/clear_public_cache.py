"""`manage.py clear_public_cache`: make every cached public page stale at once.

Saves and deletes through Django do this by themselves (smartprov/apps.py); this is for the
edits they cannot see: a bulk update, a restore, SQL typed by hand."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from smartprov.public_cache import bump_generation


class Command(BaseCommand):
    help = "Make every cached public page stale (after an edit that bypassed the models)."

    def handle(self, *args, **options) -> None:
        bump_generation()
        self.stdout.write(_("Cached public pages will be rendered afresh."))
