"""Bilingual (Indonesian, English) content fields, via django-modeltranslation."""

from modeltranslation.translator import TranslationOptions, register

from .models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor


@register(FrameworkVersion)
class FrameworkVersionTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Dimension)
class DimensionTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Element)
class ElementTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Indicator)
class IndicatorTranslation(TranslationOptions):
    fields = ("name", "description")


@register(LevelDescriptor)
class LevelDescriptorTranslation(TranslationOptions):
    fields = ("descriptor", "evidence")
