"""Next steps typed as people say them, in English and Russian, read in the user's zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm import typed_dates
from crm.typed_dates import Misreading, Reading, as_typed, read

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")

# Monday 7 December 2026 has just begun in Vladivostok (00:01) and it is still Sunday evening
# in Moscow (17:01); an hour before midnight in Moscow (23:59 Sunday), Vladivostok is at 06:59
# on Monday morning.
VLADIVOSTOK_MIDNIGHT = datetime(2026, 12, 6, 14, 1)
MOSCOW_MIDNIGHT = datetime(2026, 12, 6, 20, 59)
SUNDAY, MONDAY = date(2026, 12, 6), date(2026, 12, 7)


def day(n, hour=None, minute=0):
    """Reading `n` days after Sunday 6 December, at `hour` if given."""
    return Reading(SUNDAY + timedelta(days=n), None if hour is None else time(hour, minute))


# (where, when in UTC, typed, what it means on the wall clock there)
TABLE = [
    # Moscow, a minute before midnight on Sunday.
    (MOSCOW, MOSCOW_MIDNIGHT, "завтра 10", day(1, 10)),
    (MOSCOW, MOSCOW_MIDNIGHT, "tomorrow 9am", day(1, 9)),
    (MOSCOW, MOSCOW_MIDNIGHT, "сегодня", day(0)),
    (MOSCOW, MOSCOW_MIDNIGHT, "today", day(0)),
    (MOSCOW, MOSCOW_MIDNIGHT, "today 9", Misreading.PASSED),
    (MOSCOW, MOSCOW_MIDNIGHT, "сегодня 23:59", Misreading.PASSED),
    (MOSCOW, MOSCOW_MIDNIGHT, "10", day(1, 10)),
    (MOSCOW, MOSCOW_MIDNIGHT, "пт 15:30", day(5, 15, 30)),
    (MOSCOW, MOSCOW_MIDNIGHT, "fri 3pm", day(5, 15)),
    (MOSCOW, MOSCOW_MIDNIGHT, "mon", day(1)),
    (MOSCOW, MOSCOW_MIDNIGHT, "пн", day(1)),
    (MOSCOW, MOSCOW_MIDNIGHT, "вс", day(7)),
    (MOSCOW, MOSCOW_MIDNIGHT, "в воскресенье в 10", day(7, 10)),
    (MOSCOW, MOSCOW_MIDNIGHT, "+3", day(3)),
    (MOSCOW, MOSCOW_MIDNIGHT, "+1w", day(7)),
    (MOSCOW, MOSCOW_MIDNIGHT, "через 2 недели", day(14)),
    (MOSCOW, MOSCOW_MIDNIGHT, "in 3 days", day(3)),
    (MOSCOW, MOSCOW_MIDNIGHT, "12.12 14:00", day(6, 14)),
    (MOSCOW, MOSCOW_MIDNIGHT, "12 декабря в 14:00", day(6, 14)),
    (MOSCOW, MOSCOW_MIDNIGHT, "dec 12 2pm", day(6, 14)),
    (MOSCOW, MOSCOW_MIDNIGHT, "06.12", day(0)),
    (MOSCOW, MOSCOW_MIDNIGHT, "05.12", Reading(date(2027, 12, 5))),
    (MOSCOW, MOSCOW_MIDNIGHT, "05.12.2026", Misreading.PASSED),
    # Vladivostok, a minute after midnight: Monday there.
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "завтра 10", day(2, 10)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "tomorrow 9am", day(2, 9)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "сегодня", day(1)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "today 9", day(1, 9)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "0:00", day(2, 0)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "пт 15:30", day(5, 15, 30)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "mon", day(8)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "в следующий понедельник", day(8)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "+3", day(4)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "+0", day(1)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "12.12 14:00", day(6, 14)),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "06.12", Reading(date(2027, 12, 6))),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "послезавтра вечером", Misreading.UNKNOWN),
    (VLADIVOSTOK, VLADIVOSTOK_MIDNIGHT, "послезавтра 7 вечера", day(3, 19)),
]


def wall_clock(zone, instant):
    return instant.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


@pytest.mark.parametrize(("zone", "instant", "text", "meant"), TABLE)
def test_what_is_typed_means_a_day_on_the_wall_clock(zone, instant, text, meant):
    assert read(text, wall_clock(zone, instant)) == meant


NOON = datetime(2026, 12, 7, 12, 0)  # a Monday


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("Завтра, 10:00", Reading(date(2026, 12, 8), time(10))),
        ("ЗАВТРА в 10 утра", Reading(date(2026, 12, 8), time(10))),
        ("в пятницу", Reading(date(2026, 12, 11))),
        ("пт.", Reading(date(2026, 12, 11))),
        ("15.30", Reading(date(2026, 12, 7), time(15, 30))),
        ("9", Reading(date(2026, 12, 8), time(9))),
        ("12 pm", Reading(date(2026, 12, 8), time(12))),
        ("9 a.m.", Reading(date(2026, 12, 8), time(9))),
        ("noon", Reading(date(2026, 12, 8), time(12))),
        ("10ч", Reading(date(2026, 12, 8), time(10))),
        ("через неделю", Reading(date(2026, 12, 14))),
        ("на следующей неделе", Reading(date(2026, 12, 14))),
        ("next week", Reading(date(2026, 12, 14))),
        ("next monday", Reading(date(2026, 12, 14))),
        ("day after tomorrow", Reading(date(2026, 12, 9))),
        ("2026-12-25", Reading(date(2026, 12, 25))),
        ("25/12/26", Reading(date(2026, 12, 25))),
        ("29.02", Reading(date(2028, 2, 29))),
        ("8 Dec 2026 10:00", Reading(date(2026, 12, 8), time(10))),
        ("08.12.2026 10:00", Reading(date(2026, 12, 8), time(10))),
        ("31.02", Misreading.UNKNOWN),
        ("25:00", Misreading.UNKNOWN),
        ("13pm", Misreading.UNKNOWN),
        ("завтра 10 12", Misreading.UNKNOWN),
        ("пт пн", Misreading.UNKNOWN),
        ("+99999", Misreading.UNKNOWN),
        ("31.12.9999", Misreading.UNKNOWN),
        ("завтра!", Misreading.UNKNOWN),
        ("<script>", Misreading.UNKNOWN),
        ("", Misreading.UNKNOWN),
        ("завтра " * 20, Misreading.UNKNOWN),
        ("01.01.2020", Misreading.PASSED),
    ],
)
def test_what_people_type_and_what_is_refused(text, meant):
    assert read(text, NOON) == meant


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_step_is_shown_as_it_is_typed_back(language):
    at_ten = datetime(2026, 12, 8, 10, 0)
    assert read(as_typed(at_ten, language), NOON) == Reading(at_ten.date(), time(10))
    assert read(as_typed(at_ten.date(), language), NOON) == Reading(at_ten.date())
    assert as_typed(at_ten, "ru") == "08.12.2026 10:00"
    assert as_typed(at_ten.date(), "en") == "8 Dec 2026"


# Anything typed: never an exception, never a moment gone by.

VOCABULARY = [
    *typed_dates.WEEKDAYS,
    *typed_dates.MONTHS,
    *typed_dates.WEEKDAY_LEADS,
    *typed_dates.TIME_LEADS,
    *typed_dates.HOUR_WORDS,
    *typed_dates.HALVES,
    *typed_dates.DAYS,
    *typed_dates.WEEKS,
    *(word for phrase in typed_dates.PHRASES for word in phrase),
    "+",
    ":",
    ".",
    ",",
    "noon",
]
numbers = st.integers(0, 4000).map(str)
dotted = st.tuples(st.integers(0, 40), st.integers(0, 70)).map(lambda p: f"{p[0]}.{p[1]:02d}")
clock = st.tuples(st.integers(0, 30), st.integers(0, 70)).map(lambda p: f"{p[0]}:{p[1]:02d}")
plus = st.integers(0, 9999).map(lambda n: f"+{n}")
phrases = st.lists(
    st.sampled_from(VOCABULARY) | numbers | dotted | clock | plus, min_size=1, max_size=5
).map(" ".join)
moments = st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2998, 12, 31))


@settings(max_examples=400, deadline=None)
@given(text=phrases | st.text(max_size=80), now=moments)
def test_a_reading_never_fails_and_is_never_in_the_past(text, now):
    reading = read(text, now)
    assert isinstance(reading, Misreading) or not reading.is_past(now)


@settings(max_examples=200, deadline=None)
@given(
    ahead=st.integers(0, 3000),
    word=st.sampled_from(
        ["+{n}", "+{n}d", "+{n} дней", "in {n} days", "через {n} дня", "{weekday}", "завтра"]
    ),
    at=st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    now=st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2990, 1, 1)),
)
def test_a_relative_phrase_is_a_day_to_come(ahead, word, at, now):
    weekday = ["mon", "вт", "среду", "thursday", "пт", "sat", "вс"][ahead % 7]
    text = word.format(n=ahead, weekday=weekday)
    if at is not None:
        text += f" {at:%H:%M}"
    reading = read(text, now)
    if isinstance(reading, Misreading):
        # Only a time today that has gone by.
        assert reading is Misreading.PASSED
        assert at is not None and text.startswith(("+0 ", "+0d ", "in 0 ", "через 0 "))
    else:
        assert reading.day >= now.date()
        assert not reading.is_past(now)
