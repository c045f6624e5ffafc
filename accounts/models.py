"""People who log in to the portal."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person with a login: agency staff, coordinators, reviewers, administrators.

    A custom user model from the first migration, as Django advises, so that fields such as the
    preferred language can be added without a painful swap later. What a user may do is not
    stored here but in `regions.Membership` (which agency or region, in which role).
    """

    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, blank=True, help_text=_("Used for e-mails.")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if getattr(self, "_password_changed", False):
            # "Logout everywhere" on a password change: Django already ends the other browser
            # sessions (session hash); API tokens issued for the old password end here.
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
            self._password_changed = False

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self._password_changed = True
