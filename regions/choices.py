from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    PROVINCE = "province", _("Province")
    REGENCY = "regency", _("Regency (kabupaten)")
    CITY = "city", _("City (kota)")


class AgencyRole(models.TextChoices):
    LEAD = "lead", _("Lead (responsible)")
    SUPPORTING = "supporting", _("Supporting")


class MemberRole(models.TextChoices):
    OPERATOR = "operator", _("Agency operator")
    COORDINATOR = "coordinator", _("Regional coordinator")
    REVIEWER = "reviewer", _("Reviewer (verifikator)")
    ADMINISTRATOR = "administrator", _("Administrator")
