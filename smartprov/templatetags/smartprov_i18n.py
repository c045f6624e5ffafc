"""Language links: the same page in another language is another URL (/ or /en/), so switching
needs no form, no CSRF token and no cookie, and public pages stay cacheable per URL."""

from django import template
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def language_url(context, language: str) -> str:
    request = context.get("request")
    path = request.get_full_path() if request is not None else "/"
    return translate_url(path, language)
