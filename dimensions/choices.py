from django.db import models
from django.utils.translation import gettext_lazy as _


class FrameworkStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FROZEN = "frozen", _("Frozen (in use by a cycle)")


class MaturityLevel(models.IntegerChoices):
    """SPBE maturity levels (PermenPANRB 59/2020)."""

    INITIAL = 1, _("1 – Initial")
    MANAGED = 2, _("2 – Managed")
    STANDARDISED = 3, _("3 – Standardised")
    INTEGRATED = 4, _("4 – Integrated and measured")
    OPTIMISED = 5, _("5 – Optimised")
