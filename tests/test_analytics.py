"""Analytics over HTTP: every report page, its downloads and the leads behind its numbers."""

import pytest

from crm.analytics.catalogue import REPORTS


@pytest.mark.parametrize("slug", [report.slug for report in REPORTS])
def test_every_report_page_shows(logged_in, slug):
    response = logged_in.get(f"/analytics/{slug}")
    assert response.status_code == 200
    assert b"<html" in response.data


def test_analytics_opens_on_the_funnel(logged_in):
    response = logged_in.get("/analytics/?period=30")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/analytics/funnel?period=30")


def test_an_unknown_report_is_404(logged_in):
    assert logged_in.get("/analytics/nothing").status_code == 404
