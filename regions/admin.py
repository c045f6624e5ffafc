"""Admin for regions, Semarang Raya membership, agencies, the agency–element map and memberships."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from dimensions.models import Element

from . import boundaries
from .models import (
    Agency,
    AgencyElementRole,
    Cluster,
    ClusterMembership,
    Membership,
    Region,
    RegionBoundary,
)


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


class BoundaryUploadForm(forms.Form):
    file = forms.FileField(
        label=_("GeoJSON file"),
        help_text=_(
            "A FeatureCollection of Polygon or MultiPolygon features in longitude/latitude "
            "(WGS 84), at most 10 MB."
        ),
    )
    code_property = forms.CharField(
        label=_("Property with the region code"),
        initial="code",
        max_length=60,
        help_text=_("The feature property holding the Kemendagri code (3374 or 33.74)."),
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=300,
        help_text=_("Shown under the public map, e.g. “Badan Informasi Geospasial, 2023”."),
    )


@admin.register(RegionBoundary)
class RegionBoundaryAdmin(admin.ModelAdmin):
    """Outlines for the public map. Loaded from a file (the "Load GeoJSON" button), never typed."""

    list_display = ("region", "points", "source", "loaded_at", "loaded_by")
    readonly_fields = ("region", "geometry", "points", "source", "loaded_at", "loaded_by")
    change_list_template = "admin/regions/regionboundary/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # through the upload form, which checks the whole file

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        load = self.admin_site.admin_view(self.load_view)
        return [path("load/", load, name="regions_regionboundary_load"), *super().get_urls()]

    def load_view(self, request):
        if not request.user.has_perm("regions.add_regionboundary"):
            raise PermissionDenied
        form = BoundaryUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = boundaries.boundaries_load(
                    actor=request.user,
                    content=upload.read(boundaries.MAX_BYTES + 1),
                    code_property=form.cleaned_data["code_property"],
                    source=form.cleaned_data["source"],
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                messages.success(
                    request,
                    gettext(
                        "Boundaries loaded for %(loaded)d regions (%(unchanged)d unchanged, "
                        "%(points)d points)."
                    )
                    % {
                        "loaded": len(result.loaded),
                        "unchanged": len(result.unchanged),
                        "points": result.points,
                    },
                )
                if result.unknown:
                    messages.warning(
                        request,
                        gettext("Features with codes of no region here were left out: %(codes)s.")
                        % {"codes": ", ".join(result.unknown)},
                    )
                return redirect(reverse("admin:regions_regionboundary_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Load region boundaries (GeoJSON)"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/regions/regionboundary/load.html", context)
