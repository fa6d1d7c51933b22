"""Dates as people type them for a next step, in English or Russian: “завтра 10”, “пт 15:30”,
“+3”, “12.12 14:00”, “tomorrow 9am”, “mon”.

`read` takes the text and the moment it is where the person is (a naive local datetime) and
answers with the day and, if one was typed, the time; or why it cannot. Nothing here knows of
zones, requests or languages of the interface: the caller converts. What is read is never a
moment gone by: a weekday is the next one to come, a time alone is today's if it is still ahead
and tomorrow's if not, and "today 9" at noon, or a date already past, is refused as passed.
"""

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from crm.args import FIRST_YEAR, LAST_YEAR

# Longer than anything a person types for a date; more is pasted text, not a date.
MAX_LENGTH = 60
# "+N" further ahead than this is a slip of the finger, not a plan.
MAX_DAYS_AHEAD = 3660
DAY = timedelta(days=1)

TOKEN = re.compile(r"\+?[0-9]+(?:[.:/-][0-9]+)*|[^\W\d_]+")
# What may stand between the words and numbers: spaces and punctuation people put in dates.
BETWEEN = re.compile(r"[\s.,;@()\-–—]*")


@dataclass(frozen=True, slots=True)
class Reading:
    """A day, and the time of day if one was typed (None: some time that day)."""

    day: date
    at: time | None = None

    def moment(self):
        """The local moment it stands for: the day's start when no time was typed."""
        return datetime.combine(self.day, self.at or time.min)

    def is_past(self, now):
        """Whether it is gone by at `now`: a whole day only once the day is over."""
        if self.at is None:
            return self.day < now.date()
        return self.moment() <= now


class Misreading(enum.Enum):
    """Why a text gives no date: nothing in it reads as one, or the moment has gone by."""

    UNKNOWN = "unknown"
    PASSED = "passed"


class NotADate(ValueError):
    """Raised inside the reader when the text does not read as a date."""


def read(text, now):
    """The day (and time) `text` means, typed at the local moment `now`; or a Misreading."""
    tokens = tokenize(text)
    if not tokens:
        return Misreading.UNKNOWN
    try:
        parser = Parser(tokens, now.date())
        parser.run()
        reading = parser.reading(now)
    except (NotADate, OverflowError):
        return Misreading.UNKNOWN
    if reading.is_past(now):
        return Misreading.PASSED
    return reading


def tokenize(text):
    """The words and numbers of `text`, or None when something else is in it."""
    text = (text or "").strip()
    if not text or len(text) > MAX_LENGTH:
        return None
    text = text.casefold().replace("ё", "е")
    tokens, position = [], 0
    for match in TOKEN.finditer(text):
        if not BETWEEN.fullmatch(text, position, match.start()):
            return None
        tokens.append(match.group())
        position = match.end()
    if not BETWEEN.fullmatch(text, position):
        return None
    return tokens


def words(text):
    return frozenset(text.split())


# The words. Russian comes in the cases a date is written in ("в пятницу", "12 декабря").

PHRASES = {
    ("today",): 0,
    ("tod",): 0,
    ("сегодня",): 0,
    ("сег",): 0,
    ("tomorrow",): 1,
    ("tmrw",): 1,
    ("tmr",): 1,
    ("завтра",): 1,
    ("зав",): 1,
    ("in", "a", "day"): 1,
    ("через", "день"): 1,
    ("day", "after", "tomorrow"): 2,
    ("the", "day", "after", "tomorrow"): 2,
    ("послезавтра",): 2,
    ("next", "week"): 7,
    ("in", "a", "week"): 7,
    ("через", "неделю"): 7,
    ("на", "следующей", "неделе"): 7,
    ("на", "след", "неделе"): 7,
    ("следующей", "неделе"): 7,
    ("след", "неделе"): 7,
}
LONGEST_PHRASE = max(len(words) for words in PHRASES)

WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            "mon monday пн пон понедельник",
            "tue tues tuesday вт втор вторник",
            "wed weds wednesday ср сред среда среду",
            "thu thur thurs thursday чт чет четв четверг",
            "fri friday пт пят пятн пятница пятницу",
            "sat saturday сб суб суббота субботу",
            "sun sunday вс вск воскр воскресенье",
        ]
    )
    for name in words(names)
}
# Words that may come before a weekday without changing which one: the next to come.
WEEKDAY_LEADS = words(
    "on next this coming в во на след следующий следующую следующее этот эту это "
    "ближайший ближайшую ближайшее"
)

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "jan january янв январь января",
            "feb february фев февр февраль февраля",
            "mar march мар март марта",
            "apr april апр апрель апреля",
            "may май мая",
            "jun june июн июнь июня",
            "jul july июл июль июля",
            "aug august авг август августа",
            "sep sept september сен сент сентябрь сентября",
            "oct october окт октябрь октября",
            "nov november ноя нояб ноябрь ноября",
            "dec december дек декабрь декабря",
        ],
        start=1,
    )
    for name in words(names)
}
MONTH_ABBREVIATIONS = (
    "",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

IN = {"in", "через"}
ARTICLES = {"a", "an"}
DAYS = words("d day days д дн день дня дней")
WEEKS = words("w wk week weeks н нед неделя неделю недели недель")

TIME_LEADS = words("at by around в во к около")
HOUR_WORDS = words("h ч час часа часов")
NOON = {"noon", "полдень"}
# What a 12-hour clock's hour becomes after each word: (add for 1–11, what 12 becomes).
HALVES = {
    "am": (0, 0),
    "утра": (0, 0),
    "ночи": (0, 0),
    "pm": (12, 12),
    "вечера": (12, 12),
    "дня": (12, 12),
}

DAY_MONTH = re.compile(r"([0-9]{1,2})[./]([0-9]{1,2})(?:[./]([0-9]{2}|[0-9]{4}))?")
ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
CLOCK = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2}))?")
PLUS = re.compile(r"\+([0-9]{1,4})")
NUMBER = re.compile(r"[0-9]{1,4}")
YEAR = re.compile(r"[0-9]{4}")


class Parser:
    """Reads the tokens left to right, each once: at most one day and one time of day."""

    def __init__(self, tokens, today):
        self.tokens = tokens
        self.position = 0
        self.today = today
        self.day = None
        self.at = None

    def run(self):
        while self.position < len(self.tokens):
            if not (
                self.phrase()
                or self.plus_days()
                or self.in_days()
                or self.weekday()
                or self.dated()
                or self.month_first()
                or self.clock()
            ):
                raise NotADate(self.tokens[self.position])

    def reading(self, now):
        """What was read, as a Reading; a time alone is the next time the clock shows it."""
        if self.day is None and self.at is None:
            raise NotADate("nothing")
        if self.day is None:
            today = Reading(self.today, self.at)
            return today if not today.is_past(now) else Reading(self.today + DAY, self.at)
        return Reading(self.day, self.at)

    # Helpers

    def peek(self, offset=0):
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, count=1):
        self.position += count
        return True

    def set_day(self, day):
        if self.day is not None:
            raise NotADate("two days")
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise NotADate("out of range")
        self.day = day

    def set_time(self, at):
        if self.at is not None:
            raise NotADate("two times")
        self.at = at

    def days_ahead(self, count):
        if count > MAX_DAYS_AHEAD:
            raise NotADate("too far")
        self.set_day(self.today + timedelta(days=count))

    # The recognisers: each takes what it knows from the current token on, or leaves it.

    def phrase(self):
        """today, tomorrow, next week, послезавтра ..."""
        for length in range(LONGEST_PHRASE, 0, -1):
            words = tuple(self.tokens[self.position : self.position + length])
            if len(words) == length and words in PHRASES:
                self.days_ahead(PHRASES[words])
                return self.take(length)
        return False

    def plus_days(self):
        """+3, +3d, +2 недели."""
        match = PLUS.fullmatch(self.peek())
        if not match:
            return False
        self.take()
        count = int(match.group(1))
        if self.peek() in WEEKS:
            count *= 7
            self.take()
        elif self.peek() in DAYS:
            self.take()
        self.days_ahead(count)
        return True

    def in_days(self):
        """in 3 days, in a week, через 2 недели, через день."""
        if self.peek() not in IN:
            return False
        count_word, unit = self.peek(1), self.peek(2)
        if count_word in DAYS | WEEKS:
            count, unit, length = 1, count_word, 2
        elif count_word in ARTICLES or (count_word and NUMBER.fullmatch(count_word)):
            count = 1 if count_word in ARTICLES else int(count_word)
            length = 3
        else:
            return False
        if unit in WEEKS:
            count *= 7
        elif unit not in DAYS:
            return False
        self.days_ahead(count)
        return self.take(length)

    def weekday(self):
        """fri, пт, в пятницу, next monday: the next such day after today."""
        offset = 0
        while self.peek(offset) in WEEKDAY_LEADS:
            offset += 1
        name = self.peek(offset)
        if name not in WEEKDAYS:
            return False
        self.days_ahead((next_weekday(self.today, WEEKDAYS[name]) - self.today).days)
        return self.take(offset + 1)

    def dated(self):
        """12.12, 12.12.2026, 12/12/26, 2026-12-12, 12 декабря, 12 dec 2026."""
        token = self.peek()
        if match := ISO_DAY.fullmatch(token):
            year, month, day = (int(part) for part in match.groups())
            self.set_day(real_day(year, month, day))
            return self.take()
        if match := DAY_MONTH.fullmatch(token):
            day, month, year = match.groups()
            dotted_time = self.day is not None or not 1 <= int(month) <= 12
            if year is None and "/" not in token and dotted_time:
                # "15.30" is no date: a time with a dot, as many write it.
                return False
            self.set_day(self.some_day(int(day), int(month), year))
            return self.take()
        if NUMBER.fullmatch(token) and self.peek(1) in MONTHS:
            year = self.year_at(2)
            self.set_day(self.some_day(int(token), MONTHS[self.peek(1)], year))
            return self.take(3 if year else 2)
        return False

    def month_first(self):
        """dec 12, december 12 2026."""
        if self.peek() not in MONTHS or not (self.peek(1) and NUMBER.fullmatch(self.peek(1))):
            return False
        year = self.year_at(2)
        self.set_day(self.some_day(int(self.peek(1)), MONTHS[self.peek()], year))
        return self.take(3 if year else 2)

    def year_at(self, offset):
        """The four-digit year at `offset` after a day and month, if one is there."""
        token = self.peek(offset)
        return token if token and YEAR.fullmatch(token) else None

    def some_day(self, day, month, year):
        """The day in `month`: of the year given, or the next time it comes round."""
        if year is not None:
            year = int(year)
            return real_day(year + 2000 if year < 100 else year, month, day)
        for ahead in range(9):
            try:
                found = date(self.today.year + ahead, month, day)
            except ValueError:
                if not 1 <= month <= 12 or not 1 <= day <= 31:
                    raise NotADate("no such day") from None
                continue
            if found >= self.today:
                return found
        raise NotADate("no such day")

    def clock(self):
        """10, 10:30, 15.30, 9am, 9 pm, в 10, at 9:30, 10 утра, 3 дня, noon, 10ч."""
        offset = 1 if self.peek() in TIME_LEADS else 0
        token = self.peek(offset)
        if token in NOON:
            self.set_time(time(12))
            return self.take(offset + 1)
        match = CLOCK.fullmatch(token or "")
        if not match:
            return False
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        length = offset + 1
        if self.peek(length) in HOUR_WORDS:
            length += 1
        half = self.half_of_day(length)
        if half:
            word, words = half
            length += words
            if not 1 <= hour <= 12:
                raise NotADate("no such hour")
            add, twelve = HALVES[word]
            hour = twelve if hour == 12 else hour + add
        if hour > 23 or minute > 59:
            raise NotADate("no such time")
        self.set_time(time(hour, minute))
        return self.take(length)

    def half_of_day(self, offset):
        """am, pm, a.m., утра, вечера ... after the hour: (the word, how many tokens)."""
        word = self.peek(offset)
        if word in HALVES:
            return word, 1
        if word in ("a", "p") and self.peek(offset + 1) == "m":
            return word + "m", 2
        return None


def real_day(year, month, day):
    try:
        return date(year, month, day)
    except ValueError:
        raise NotADate("no such day") from None


def next_weekday(today, weekday):
    """The next `weekday` (0 is Monday) after `today`: one to seven days ahead."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def as_typed(moment, language):
    """A local moment (or a whole day, a date) written as a person of `language` would type
    it, and as `read` reads it back: 08.12.2026 10:00 in Russian, 8 Dec 2026 10:00 in
    English; midnight is the whole day."""
    if language.startswith("ru"):
        text = f"{moment.day:02d}.{moment.month:02d}.{moment.year}"
    else:
        text = f"{moment.day} {MONTH_ABBREVIATIONS[moment.month]} {moment.year}"
    if isinstance(moment, datetime) and (moment.hour or moment.minute):
        text += f" {moment.hour:02d}:{moment.minute:02d}"
    return text
