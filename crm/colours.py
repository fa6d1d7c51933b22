"""Stage colours everyone can read, by the WCAG 2 contrast formula.

A stage's name sits on its colour (badges, column heads). The text is dark or white, whichever
contrasts more; and where neither reaches the 4.5:1 that WCAG AA asks of normal text (mid
luminance colours, such as a bright sky blue), the colour behind the text is darkened just
enough for white. The colour the team picked is kept as it is; only what text sits on changes.
"""

DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"
# WCAG 2 AA for normal text: a stage's name in a badge is small.
MIN_CONTRAST = 4.5
# Each darkening step keeps this share of every channel, so the hue stays.
DARKEN_STEP = 0.98


def channels(colour):
    """#rrggbb as three integers 0–255."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def hex_colour(rgb):
    return "#" + "".join(f"{round(value):02x}" for value in rgb)


def relative_luminance(colour):
    """WCAG 2's relative luminance of #rrggbb: 0 for black, 1 for white."""

    def linear(value):
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(value) for value in channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first, second):
    """WCAG 2's contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def text_colour(background):
    """Dark or white text, whichever contrasts more with `background`."""
    if contrast(background, DARK_TEXT) >= contrast(background, LIGHT_TEXT):
        return DARK_TEXT
    return LIGHT_TEXT


def readable(background):
    return contrast(background, text_colour(background)) >= MIN_CONTRAST


def badge_colour(colour):
    """`colour` if its text reaches 4.5:1, else a shade of it just dark enough for white text:
    every channel scaled down by the same small steps, which keeps the hue the team chose."""
    if readable(colour):
        return colour
    rgb = channels(colour)
    shade, scale = colour, 1.0
    while contrast(shade, LIGHT_TEXT) < MIN_CONTRAST:
        scale *= DARKEN_STEP
        shade = hex_colour(value * scale for value in rgb)
    return shade
