import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_changing_the_password_revokes_the_users_api_tokens():
    user = UserFactory()
    other = UserFactory()
    token = Token.objects.create(user=user)
    kept = Token.objects.create(user=other)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/cycles/").status_code == 200
    user.set_password("a new and long passphrase 2026")
    user.save()
    assert not Token.objects.filter(user=user).exists()
    assert Token.objects.filter(pk=kept.pk).exists()
    assert client.get("/api/v1/cycles/").status_code == 401


def test_changing_the_password_ends_the_users_other_sessions(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/en/assessments/inbox/").status_code == 200
    user.set_password("a new and long passphrase 2026")
    user.save()
    response = client.get("/en/assessments/inbox/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_saving_a_user_without_a_password_change_keeps_tokens():
    user = UserFactory()
    Token.objects.create(user=user)
    user.full_name = "Nama Baru"
    user.save()
    assert Token.objects.filter(user=user).exists()
