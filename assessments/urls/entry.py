"""URLs of the entry pages (agency operators, regional coordinators). The page names are fixed:
the navigation (smartprov/context_processors.py) links to them."""

from django.urls import path

from ..views import entry as views

urlpatterns = [
    path("assessments/worklist/", views.worklist, name="worklist"),
    path("assessments/worklist/submit/", views.worklist_submit, name="worklist_submit"),
    path("assessments/answers/<int:pk>/", views.answer_detail, name="answer_detail"),
    path(
        "assessments/answers/<int:pk>/evidence/",
        views.answer_evidence_add,
        name="answer_evidence_add",
    ),
    path(
        "assessments/answers/<int:pk>/copy-previous/",
        views.answer_copy_previous,
        name="answer_copy_previous",
    ),
    path(
        "assessments/answers/<int:pk>/comments/",
        views.answer_comment_add,
        name="answer_comment_add",
    ),
    path(
        "assessments/evidence/<int:pk>/download/",
        views.evidence_download,
        name="evidence_download",
    ),
    path("assessments/evidence/<int:pk>/remove/", views.evidence_remove, name="evidence_remove"),
    path("assessments/inbox/", views.inbox, name="inbox"),
    path("assessments/inbox/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("assessments/region/", views.region_overview, name="region_overview"),
    path("assessments/region/submit/", views.region_submit, name="region_submit"),
]
