"""Admin for the framework: editable while a version is a draft, read-only once frozen."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from .models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from .services import framework_clone


def _framework_of(obj):
    if obj is None:
        return None
    if isinstance(obj, FrameworkVersion):
        return obj
    if isinstance(obj, Dimension):
        return obj.framework
    if isinstance(obj, Element):
        return obj.dimension.framework
    if isinstance(obj, Indicator):
        return obj.element.dimension.framework
    return obj.indicator.element.dimension.framework


class FrozenReadOnlyMixin:
    """Frozen versions and their content open as read-only views (no save, no delete)."""

    def has_change_permission(self, request, obj=None):
        framework = _framework_of(obj)
        if framework is not None and framework.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        framework = _framework_of(obj)
        if framework is not None and framework.is_frozen:
            return False
        return super().has_delete_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        framework = _framework_of(obj)
        if framework is not None and framework.is_frozen:
            return False
        if obj is None and not isinstance(self, admin.options.InlineModelAdmin):
            return super().has_add_permission(request)
        return super().has_add_permission(request, obj)


class DimensionInline(FrozenReadOnlyMixin, TranslationTabularInline):
    model = Dimension
    fields = ("order", "code", "name", "weight")
    extra = 0
    show_change_link = True


class ElementInline(FrozenReadOnlyMixin, TranslationTabularInline):
    model = Element
    fields = ("order", "code", "name", "weight")
    extra = 0
    show_change_link = True


class IndicatorInline(FrozenReadOnlyMixin, TranslationTabularInline):
    model = Indicator
    fields = ("order", "code", "name", "weight")
    extra = 0
    show_change_link = True


class LevelDescriptorInline(FrozenReadOnlyMixin, TranslationTabularInline):
    model = LevelDescriptor
    fields = ("level", "descriptor", "evidence", "evidence_required")
    extra = 0
    max_num = 5
    min_num = 5


@admin.register(FrameworkVersion)
class FrameworkVersionAdmin(FrozenReadOnlyMixin, TranslationAdmin):
    list_display = ("name", "slug", "version", "status", "frozen_at", "cloned_from")
    list_filter = ("status", "slug")
    search_fields = ("name_id", "name_en", "slug")
    readonly_fields = ("status", "frozen_at", "cloned_from", "created_at")
    inlines = [DimensionInline]
    actions = ["clone_as_new_draft"]

    @admin.action(description=_("Clone as new draft version"))
    def clone_as_new_draft(self, request, queryset):
        clones = [framework_clone(framework=framework) for framework in queryset]
        self.message_user(
            request,
            ngettext(
                "Created draft version %(names)s.",
                "Created draft versions %(names)s.",
                len(clones),
            )
            % {"names": ", ".join(str(c) for c in clones)},
            messages.SUCCESS,
        )


@admin.register(Dimension)
class DimensionAdmin(FrozenReadOnlyMixin, TranslationAdmin):
    list_display = ("code", "name", "framework", "weight", "order")
    list_filter = ("framework",)
    search_fields = ("code", "name_id", "name_en")
    list_select_related = ("framework",)
    inlines = [ElementInline]


@admin.register(Element)
class ElementAdmin(FrozenReadOnlyMixin, TranslationAdmin):
    list_display = ("code", "name", "dimension", "weight", "order")
    list_filter = ("dimension__framework", "dimension__code")
    search_fields = ("code", "name_id", "name_en")
    list_select_related = ("dimension__framework",)
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(FrozenReadOnlyMixin, TranslationAdmin):
    list_display = ("code", "name", "element", "weight", "order")
    list_filter = ("element__dimension__framework", "element__dimension__code")
    search_fields = ("code", "name_id", "name_en", "description_id", "description_en")
    list_select_related = ("element__dimension__framework",)
    inlines = [LevelDescriptorInline]
