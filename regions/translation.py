"""Bilingual fields of the regions app. Region and agency names are proper names: not translated."""

from modeltranslation.translator import TranslationOptions, register

from .models import Cluster


@register(Cluster)
class ClusterTranslation(TranslationOptions):
    fields = ("name", "description")
