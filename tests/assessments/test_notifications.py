"""Notifications: an in-app entry in the same transaction as the change, an e-mail after commit.

Nothing is e-mailed for a change that rolled back, each event notifies each person once, and
the deadline reminder goes out three days before each agency's own (possibly extended) deadline.
"""

import datetime

import pytest
from django.db import transaction
from django.utils import translation

from assessments.choices import NotificationKind
from assessments.models import Answer, Assessment, Notification
from assessments.services import (
    answer_return,
    answer_save,
    answer_submit,
    answer_verify,
    assessment_approve,
    assessment_reopen,
    assessment_submit,
    deadline_extend,
    deadline_reminders_send,
)
from assessments.tasks import send_notification_emails
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def isolated(settings):
    """No outbox consumer runs here (approval also records a report build)."""
    settings.OUTBOX_ROUTES = {}


@pytest.fixture
def colleague(cast):
    """A second operator of agency A, who reads English e-mails."""
    user = UserFactory(username="op-a-rekan", preferred_language="en")
    MembershipFactory(user=user, agency=cast.agency_a)
    return user


@pytest.fixture
def submitted(cast, answers_a) -> Answer:
    answer = answers_a[0]
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=1,
        self_level=1,
        justification="SOP layanan daring.",
    )
    return answer_submit(actor=cast.operator_a, answer_id=answer.pk)


def inbox(user, kind: str | None = None):
    notifications = Notification.objects.filter(user=user)
    return notifications.filter(kind=kind) if kind else notifications


def recipients(mailoutbox) -> list[str]:
    return sorted(address for mail in mailoutbox for address in mail.to)


# --------------------------------------------------------------------------- return


def test_a_return_notifies_the_owning_agency_once_and_emails_after_commit(
    cast, colleague, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK.")
        # The in-app entries are part of the transaction; no e-mail leaves before it commits.
        assert inbox(cast.operator_a, NotificationKind.ANSWER_RETURNED).count() == 1
        assert mailoutbox == []

    assert len(callbacks) == 1
    assert recipients(mailoutbox) == ["op-a-rekan@example.test", "op-a@example.test"]
    for user in (cast.operator_a, colleague):
        notification = inbox(user).get()
        assert notification.kind == NotificationKind.ANSWER_RETURNED
        assert notification.answer_id == submitted.pk
        assert notification.emailed_at is not None
    # Only the owning agency hears of it.
    for user in (cast.operator_a2, cast.operator_b, cast.coordinator_a, cast.reviewer):
        assert not inbox(user).exists()
    english = next(mail for mail in mailoutbox if mail.to == ["op-a-rekan@example.test"])
    assert english.subject == "[SmartProv] Answer returned for revision"
    assert english.body == (
        "Indicator D1-E1-01 (Kota Semarang) was returned for revision: Lampirkan SK."
    )


def test_nothing_is_notified_when_the_transaction_rolls_back(
    cast, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK.")
        raise RuntimeError("the request failed after the return")

    assert callbacks == []
    assert mailoutbox == []
    assert not Notification.objects.exists()
    submitted.refresh_from_db()
    assert submitted.state == "submitted"


def test_a_second_return_of_the_same_answer_is_a_new_notification(
    cast, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Pertama.")
        answer_submit(actor=cast.operator_a, answer_id=submitted.pk)
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Kedua.")

    reasons = sorted(n.params["reason"] for n in inbox(cast.operator_a))
    assert reasons == ["Kedua.", "Pertama."]
    assert len(mailoutbox) == 2


def test_e_mails_are_sent_once_however_often_the_task_runs(cast, colleague, submitted, mailoutbox):
    answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK.")
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert len(ids) == 2 and mailoutbox == []  # the callbacks did not run: nothing committed

    first = send_notification_emails(ids)
    second = send_notification_emails(ids)

    assert (first, second) == (2, 0)
    assert len(mailoutbox) == 2


def test_a_user_without_an_address_still_gets_the_in_app_notification(
    cast, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    cast.operator_a.email = ""
    cast.operator_a.save(update_fields=["email"])

    with django_capture_on_commit_callbacks(execute=True):
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK.")

    assert inbox(cast.operator_a).count() == 1
    assert mailoutbox == []


# ------------------------------------------------------------------- verify, approve, reopen


def test_a_verification_notifies_the_owning_agency(
    cast, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer_verify(actor=cast.reviewer, answer_id=submitted.pk, verified_level=1)

    notification = inbox(cast.operator_a).get()
    assert notification.kind == NotificationKind.ANSWER_VERIFIED
    with translation.override("en"):
        assert notification.text() == "Indicator D1-E1-01 (Kota Semarang) was verified at level 1."
    assert recipients(mailoutbox) == ["op-a@example.test"]


@pytest.fixture
def verified_region_a(cast, cycle) -> Assessment:
    assessment = Assessment.objects.get(cycle=cycle, region=cast.region_a)
    owners = {cast.agency_a.pk: cast.operator_a, cast.agency_a2.pk: cast.operator_a2}
    for answer in assessment.answers.all():
        answer_save(
            actor=owners[answer.agency_id],
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Ada.",
        )
    assessment_submit(actor=cast.coordinator_a, assessment_id=assessment.pk)
    for answer in assessment.answers.all():
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    return assessment


REGION_A_PEOPLE = ["coord-a@example.test", "op-a2@example.test", "op-a@example.test"]


def test_an_approval_notifies_the_region_coordinator_and_its_agencies(
    cast, verified_region_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assessment_approve(actor=cast.reviewer, assessment_id=verified_region_a.pk)

    approved = Notification.objects.filter(kind=NotificationKind.ASSESSMENT_APPROVED)
    assert sorted(approved.values_list("user__username", flat=True)) == [
        "coord-a",
        "op-a",
        "op-a2",
    ]
    assert recipients(mailoutbox) == REGION_A_PEOPLE
    with translation.override("en"):
        assert approved.first().text() == (
            f"The assessment of Kota Semarang in {verified_region_a.cycle.name} was approved."
        )


def test_a_reopening_notifies_the_region_with_its_reason(
    cast, verified_region_a, mailoutbox, django_capture_on_commit_callbacks
):
    assessment_approve(actor=cast.reviewer, assessment_id=verified_region_a.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assessment_reopen(
            actor=cast.admin, assessment_id=verified_region_a.pk, reason="Data BPS direvisi."
        )

    reopened = Notification.objects.filter(kind=NotificationKind.ASSESSMENT_REOPENED)
    assert reopened.count() == 3
    assert recipients(mailoutbox) == REGION_A_PEOPLE
    with translation.override("en"):
        assert reopened.first().text().endswith("was reopened: Data BPS direvisi.")


# --------------------------------------------------------------------------- deadline reminders


def three_days_before(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=3)


def test_operators_with_open_answers_are_reminded_three_days_before_the_deadline(
    cast, cycle, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reminded = deadline_reminders_send(today=three_days_before(cycle.entry_deadline))

    assert reminded == 3
    reminders = Notification.objects.filter(kind=NotificationKind.DEADLINE_SOON)
    assert sorted(reminders.values_list("user__username", "params__open")) == [
        ("op-a", 4),
        ("op-a2", 4),
        ("op-b", 8),
    ]
    assert recipients(mailoutbox) == [
        "op-a2@example.test",
        "op-a@example.test",
        "op-b@example.test",
    ]
    with translation.override("en"):
        assert reminders.get(user=cast.operator_a).text() == (
            f"The entry deadline of {cycle.name} for Diskominfo is "
            f"{cycle.entry_deadline.isoformat()}: 4 answer(s) are still open."
        )


def test_reminders_go_out_once_per_day(cast, cycle, mailoutbox, django_capture_on_commit_callbacks):
    day = three_days_before(cycle.entry_deadline)
    with django_capture_on_commit_callbacks(execute=True):
        deadline_reminders_send(today=day)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = deadline_reminders_send(today=day)

    assert again == 0
    assert callbacks == []
    assert Notification.objects.filter(kind=NotificationKind.DEADLINE_SOON).count() == 3
    assert len(mailoutbox) == 3


@pytest.mark.parametrize("days_before", [4, 2, 0])
def test_no_reminder_on_other_days(cast, cycle, days_before):
    today = cycle.entry_deadline - datetime.timedelta(days=days_before)

    assert deadline_reminders_send(today=today) == 0
    assert not Notification.objects.exists()


def test_an_agency_with_nothing_open_is_not_reminded(cast, cycle, answers_a):
    assessment = answers_a[0].assessment
    for answer in answers_a:
        answer_save(
            actor=cast.operator_a,
            answer_id=answer.pk,
            expected_version=1,
            self_level=1,
            justification="Ada.",
        )
    assessment_submit(actor=cast.operator_a, assessment_id=assessment.pk)

    deadline_reminders_send(today=three_days_before(cycle.entry_deadline))

    assert not inbox(cast.operator_a).exists()
    assert inbox(cast.operator_a2).count() == 1


def test_an_extended_agency_is_reminded_before_its_own_deadline(cast, cycle):
    extended = cycle.entry_deadline + datetime.timedelta(days=7)
    deadline_extend(
        actor=cast.admin, cycle=cycle, agency=cast.agency_a2, until=extended, reason="Mutasi staf."
    )

    deadline_reminders_send(today=three_days_before(cycle.entry_deadline))
    assert not inbox(cast.operator_a2).exists()
    assert inbox(cast.operator_a).count() == 1

    deadline_reminders_send(today=three_days_before(extended))
    reminder = inbox(cast.operator_a2).get()
    assert reminder.params["deadline"] == extended.isoformat()
    assert inbox(cast.operator_a).count() == 1


# --------------------------------------------------------------------------- languages


def test_notification_texts_render_in_english_and_do_not_fail_in_indonesian(cast, submitted):
    answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK.")
    notification = inbox(cast.operator_a).get()

    with translation.override("en"):
        english = notification.text()
        label = notification.get_kind_display()
    with translation.override("id"):
        indonesian = notification.text()
        str(notification.get_kind_display())

    assert english == "Indicator D1-E1-01 (Kota Semarang) was returned for revision: Lampirkan SK."
    assert label == "Answer returned for revision"
    # The Indonesian catalogue may not have this message yet; it must render all the same.
    assert "D1-E1-01" in indonesian and "Lampirkan SK." in indonesian


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (NotificationKind.ANSWER_RETURNED, {"indicator": "X", "region": "R", "reason": "r"}),
        (NotificationKind.ANSWER_VERIFIED, {"indicator": "X", "region": "R", "level": 3}),
        (NotificationKind.ASSESSMENT_APPROVED, {"region": "R", "cycle": "C"}),
        (NotificationKind.ASSESSMENT_REOPENED, {"region": "R", "cycle": "C", "reason": "r"}),
        (
            NotificationKind.DEADLINE_SOON,
            {"cycle": "C", "agency": "A", "deadline": "2030-01-01", "open": 2},
        ),
    ],
)
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_kind_of_notification_renders_in_both_languages(cast, kind, params, language):
    notification = Notification(user=cast.operator_a, kind=kind, key="k", params=params)

    with translation.override(language):
        text = notification.text()

    assert text and "%(" not in text
