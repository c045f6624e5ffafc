"""Load the reference data from the versioned fixture files (docs/reference-data.md)."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from dimensions.models import Element
from dimensions.services import framework_load
from regions.services import agencies_load, regions_load

FRAMEWORK_DIRS = ["dimensions/fixtures/provinsi-cerdas-v1"]
REGIONS_FILE = "regions/fixtures/regions.yaml"
AGENCIES_DIR = "regions/fixtures/agencies"


def read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def read_framework(directory: Path) -> dict:
    data = read_yaml(directory / "framework.yaml")
    data["dimensions"] = [read_yaml(directory / f"{code}.yaml") for code in data["dimensions"]]
    return data


class Command(BaseCommand):
    help = (
        "Load the framework, regions, Semarang Raya, agencies and the agency–element map from "
        "the fixture files. Idempotent: a second run changes nothing."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        base = Path(settings.BASE_DIR)
        changes = 0
        for directory in FRAMEWORK_DIRS:
            framework, changed = framework_load(data=read_framework(base / directory))
            changes += changed
            self.stdout.write(f"framework {framework}: {changed} rows written")
        changes += regions_load(data=read_yaml(base / REGIONS_FILE))
        element_codes = set(Element.objects.values_list("code", flat=True))
        for path in sorted((base / AGENCIES_DIR).glob("*.yaml")):
            changed = agencies_load(data=read_yaml(path), element_codes=element_codes)
            changes += changed
            self.stdout.write(f"agencies {path.stem}: {changed} rows written")
        self.stdout.write(self.style.SUCCESS(f"seed_reference: {changes} rows written"))
