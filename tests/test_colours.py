"""Stage colours: the WCAG contrast maths, and badges everyone can read whatever the colour."""

import colorsys
import itertools
import re

import pytest
from flask_babel import force_locale

from crm import colours, funnel_defaults
from crm.colours import DARK_TEXT, LIGHT_TEXT, MIN_CONTRAST, badge_colour, contrast, text_colour
from crm.extensions import db


def rgb(colour):
    return [value / 255 for value in colours.channels(colour)]


def hue(colour):
    return colorsys.rgb_to_hls(*rgb(colour))[0] * 360


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        # The greys either side of 4.5:1 on white, as every contrast checker gives them.
        ("#767676", "#ffffff", 4.54),
        ("#777777", "#ffffff", 4.48),
        # The old default "Interested": short of 4.5:1 with either text colour.
        ("#0284c7", LIGHT_TEXT, 4.10),
        ("#0284c7", DARK_TEXT, 4.33),
    ],
)
def test_contrast_of_known_pairs(first, second, ratio):
    assert contrast(first, second) == pytest.approx(ratio, abs=0.01)
    assert contrast(second, first) == pytest.approx(ratio, abs=0.01)


def test_relative_luminance_of_black_white_and_the_primaries():
    assert colours.relative_luminance("#000000") == 0
    assert colours.relative_luminance("#ffffff") == pytest.approx(1)
    assert colours.relative_luminance("#ff0000") == pytest.approx(0.2126)
    assert colours.relative_luminance("#00ff00") == pytest.approx(0.7152)
    assert colours.relative_luminance("#0000ff") == pytest.approx(0.0722)


@pytest.mark.parametrize(
    ("background", "text"),
    [
        ("#fde047", DARK_TEXT),
        ("#ffffff", DARK_TEXT),
        ("#1d4ed8", LIGHT_TEXT),
        ("#000000", LIGHT_TEXT),
    ],
)
def test_the_text_colour_is_the_one_that_contrasts_more(background, text):
    assert text_colour(background) == text


def test_a_readable_colour_is_its_own_badge():
    for colour in ("#1d4ed8", "#fde047", "#64748b", "#ffffff", "#000000"):
        assert badge_colour(colour) == colour


def test_a_colour_no_text_reads_on_is_darkened_just_enough_keeping_its_hue():
    badge = badge_colour("#0284c7")
    assert badge != "#0284c7"
    assert text_colour(badge) == LIGHT_TEXT
    assert MIN_CONTRAST <= contrast(badge, LIGHT_TEXT) < 4.7
    assert abs(hue(badge) - hue("#0284c7")) < 2


def test_every_colour_gets_a_badge_that_reaches_4_5_to_1():
    steps = range(0, 256, 15)
    for r, g, b in itertools.product(steps, steps, steps):
        badge = badge_colour(f"#{r:02x}{g:02x}{b:02x}")
        assert contrast(badge, text_colour(badge)) >= MIN_CONTRAST, (r, g, b)


# The stylesheet that colours every badge


def stage_styles(client):
    page = client.get("/settings/stages").text
    return client.get(re.search(r'href="(/stages\.css\?v=[0-9a-f]+)"', page).group(1)).text


def test_an_install_on_an_unreadable_colour_keeps_it_and_gets_a_readable_badge(logged_in, stages):
    stage = stages[1]
    stage.colour = "#0284c7"
    db.session.commit()
    css = stage_styles(logged_in)
    badge = badge_colour("#0284c7")
    assert f".stage-{stage.id} {{ --stage-bg: {badge}; --stage-fg: {LIGHT_TEXT}; }}" in css
    db.session.refresh(stage)
    assert stage.colour == "#0284c7"


def test_every_stage_in_the_stylesheet_reads_at_4_5_to_1(logged_in, stages):
    found = re.findall(
        r"--stage-bg: (#[0-9a-f]{6}); --stage-fg: (#[0-9a-f]{6});", stage_styles(logged_in)
    )
    assert len(found) == len(stages)
    for background, text in found:
        assert contrast(background, text) >= MIN_CONTRAST


# The default funnel's colours


def clearly_apart(first, second):
    """Light against dark, grey against colour, or a wide step of hue."""
    if contrast(first, second) >= 1.5:
        return True
    saturations = sorted(colorsys.rgb_to_hls(*rgb(c))[2] for c in (first, second))
    if saturations[0] < 0.25:
        return saturations[1] >= 0.5
    step = abs(hue(first) - hue(second))
    return min(step, 360 - step) >= 45


def test_the_old_look_alike_neighbours_are_not_clearly_apart():
    assert not clearly_apart("#4f46e5", "#7c3aed")  # indigo, violet
    assert not clearly_apart("#b45309", "#c2410c")  # amber, orange
    assert clearly_apart("#64748b", "#0e7490")  # slate grey, cyan
    assert clearly_apart("#ca8a04", "#c2410c")  # light yellow, dark orange


@pytest.mark.parametrize("language", ["en", "ru"])
def test_default_stages_read_at_4_5_to_1_and_neighbours_differ(app, language):
    with force_locale(language):
        defaults = [colour for _name, colour, _kind, _stuck in funnel_defaults.default_stages()]
    assert len(set(defaults)) == len(defaults) == 9
    for colour in defaults:
        assert badge_colour(colour) == colour
        assert contrast(colour, text_colour(colour)) >= MIN_CONTRAST, colour
    for first, second in itertools.pairwise(defaults):
        assert clearly_apart(first, second), (first, second)


def test_the_stage_settings_say_when_a_colour_is_darkened_behind_the_name(logged_in, stages):
    stage = stages[1]
    assert "darker shade" not in logged_in.get(f"/settings/stages/{stage.id}").text
    stage.colour = "#0284c7"
    db.session.commit()
    page = logged_in.get(f"/settings/stages/{stage.id}").text
    assert (
        f"on #0284c7, so the name sits on a darker shade of it, {badge_colour('#0284c7')}." in page
    )
