"""Admin for regions, Semarang Raya membership, agencies, the agency–element map and memberships."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from dimensions.models import Element

from .models import Agency, AgencyElementRole, Cluster, ClusterMembership, Membership, Region


def element_code_choices():
    codes = Element.objects.order_by("code").values_list("code", flat=True).distinct()
    return [("", "---------"), *[(c, c) for c in codes]]


class AgencyElementRoleForm(forms.ModelForm):
    element_code = forms.ChoiceField(label=_("element code"), choices=element_code_choices)

    class Meta:
        model = AgencyElementRole
        fields = ("agency", "element_code", "role")


class AgencyElementRoleInline(admin.TabularInline):
    """The whole agency–element map of one region, editable on the region's page."""

    model = AgencyElementRole
    form = AgencyElementRoleForm
    fk_name = "region"
    extra = 0
    ordering = ("element_code", "role")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            region_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Agency.objects.filter(region_id=region_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AgencyInline(admin.TabularInline):
    model = Agency
    fields = ("short_name", "slug", "name", "is_active")
    extra = 0
    show_change_link = True


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    inlines = [AgencyInline, AgencyElementRoleInline]


class ClusterMembershipInline(admin.TabularInline):
    model = ClusterMembership
    extra = 0


@admin.register(Cluster)
class ClusterAdmin(TranslationAdmin):
    list_display = ("name", "slug")
    search_fields = ("slug", "name_id", "name_en")
    inlines = [ClusterMembershipInline]


class AgencyRoleOnAgencyInline(admin.TabularInline):
    model = AgencyElementRole
    form = AgencyElementRoleForm
    fk_name = "agency"
    fields = ("element_code", "role")
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("short_name", "name", "region", "is_active")
    list_filter = ("region", "is_active")
    search_fields = ("short_name", "name", "slug")
    list_select_related = ("region",)
    prepopulated_fields = {"slug": ("short_name",)}
    inlines = [AgencyRoleOnAgencyInline]


@admin.register(AgencyElementRole)
class AgencyElementRoleAdmin(admin.ModelAdmin):
    form = AgencyElementRoleForm
    list_display = ("element_code", "agency", "role", "region")
    list_filter = ("region", "role", "element_code")
    search_fields = ("element_code", "agency__short_name", "agency__name")
    list_select_related = ("agency__region", "region")

    def save_model(self, request, obj, form, change):
        obj.region_id = obj.agency.region_id
        super().save_model(request, obj, form, change)


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("region", "agency")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "agency")
    list_filter = ("role", "region")
    search_fields = ("user__username", "user__full_name", "agency__short_name")
    list_select_related = ("user", "region", "agency__region")
    autocomplete_fields = ("user", "region", "agency")
