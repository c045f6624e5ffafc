"""Pages of reviewers and administrators (namespace "assessments", set in __init__.py)."""

from django.urls import path

from ..views import review as views

urlpatterns: list = [
    path("assessments/review/", views.review_queue, name="review_queue"),
    path("assessments/review/answers/<int:pk>/", views.answer_review, name="answer_review"),
    path(
        "assessments/review/answers/<int:pk>/verify/",
        views.answer_verify,
        name="review_answer_verify",
    ),
    path(
        "assessments/review/answers/<int:pk>/return/",
        views.answer_return,
        name="review_answer_return",
    ),
    path(
        "assessments/review/answers/<int:pk>/comment/",
        views.answer_comment,
        name="review_answer_comment",
    ),
    path(
        "assessments/review/assessments/<int:pk>/",
        views.assessment_detail,
        name="assessment_detail",
    ),
    path(
        "assessments/review/assessments/<int:pk>/approve/",
        views.assessment_approve,
        name="review_assessment_approve",
    ),
    path(
        "assessments/review/assessments/<int:pk>/reopen/",
        views.assessment_reopen,
        name="review_assessment_reopen",
    ),
    path("assessments/cycles/", views.cycle_list, name="cycle_list"),
    path("assessments/cycles/open/", views.cycle_open, name="cycle_open"),
    path("assessments/cycles/<int:pk>/", views.cycle_detail, name="cycle_detail"),
    path(
        "assessments/cycles/<int:pk>/extend-deadline/",
        views.cycle_deadline_extend,
        name="cycle_deadline_extend",
    ),
]
