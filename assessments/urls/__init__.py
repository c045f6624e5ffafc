"""Pages of the assessment workflow: entry (agency operators, coordinators) and review
(reviewers, administrators)."""

from . import entry, review

app_name = "assessments"
urlpatterns = [*entry.urlpatterns, *review.urlpatterns]
