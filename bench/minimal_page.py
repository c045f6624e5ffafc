"""The body both baselines of bench/bench_pages.py return: a small, complete HTML page.

A module of its own, free of Django imports, so that the bare site (minimal_wsgi, which
configures settings itself) and the view behind the portal's stack (minimal_urls, loaded
under the portal's settings) can both use it."""

PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>Minimal</title></head><body><h1>Minimal Django view</h1>"
    b"<p>The baseline of the page benchmark.</p></body></html>\n"
)
