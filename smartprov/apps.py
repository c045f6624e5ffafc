"""The project's own app: template tags, the public page cache and its invalidation."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_save

#: Models whose rows public pages show: a save or delete of any of them makes every cached
#: public page stale (smartprov.public_cache). Snapshots only when publication changes.
PUBLIC_MODELS = (
    "assessments.Cycle",
    "dimensions.FrameworkVersion",
    "dimensions.Dimension",
    "dimensions.Element",
    "dimensions.Indicator",
    "dimensions.LevelDescriptor",
    "regions.Region",
    "regions.Cluster",
    "regions.ClusterMembership",
    "regions.Agency",
    "regions.AgencyElementRole",
    "regions.RegionBoundary",
)


def _reference_changed(sender, **kwargs) -> None:
    from .public_cache import bump_generation

    bump_generation()


def _snapshot_saved(sender, instance, update_fields=None, **kwargs) -> None:
    # New provisional snapshots (nightly builds) are invisible to the public: no reason to
    # drop the cached pages. Publishing and unpublishing save `published`.
    if instance.published or (update_fields and "published" in update_fields):
        _reference_changed(sender)


class SmartprovConfig(AppConfig):
    name = "smartprov"
    verbose_name = "SmartProv"

    def ready(self) -> None:
        for label in PUBLIC_MODELS:
            model = apps.get_model(label)
            post_save.connect(_reference_changed, sender=model, dispatch_uid=f"public:{label}")
            post_delete.connect(_reference_changed, sender=model, dispatch_uid=f"public:{label}:d")
        report = apps.get_model("reports.MaturityReport")
        post_save.connect(_snapshot_saved, sender=report, dispatch_uid="public:report")
        post_delete.connect(_reference_changed, sender=report, dispatch_uid="public:report:d")
