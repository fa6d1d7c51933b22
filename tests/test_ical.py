"""The iCalendar writer alone: no app, no database, just the text a phone's calendar reads."""

from datetime import date, datetime

from crm.agenda import ical

STAMP = datetime(2026, 3, 1, 9, 15, 0)


def event(**changes):
    fields = {
        "uid": "lead-7@crm.example",
        "stamp": STAMP,
        "summary": "#12 Acme",
        "url": "https://crm.example/leads/12",
        "starts": datetime(2026, 3, 10, 12, 30),
    } | changes
    return ical.Event(**fields)


def lines_of(text):
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_a_calendar_is_one_vcalendar_with_an_event_per_step():
    text = ical.calendar("Planned calls", [event(), event(uid="lead-8@crm.example")])
    lines = lines_of(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and "X-WR-CALNAME:Planned calls" in lines
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 2
    assert "\n" not in text.replace("\r\n", "")


def test_a_timed_step_is_a_half_hour_block_in_utc():
    lines = ical.event_lines(event())
    assert "DTSTART:20260310T123000Z" in lines and "DURATION:PT30M" in lines
    assert "DTSTAMP:20260301T091500Z" in lines
    assert "URL:https://crm.example/leads/12" in lines


def test_a_step_for_the_whole_day_is_an_all_day_event():
    lines = ical.event_lines(event(starts=None, day=date(2026, 3, 11)))
    assert "DTSTART;VALUE=DATE:20260311" in lines
    assert not any(line.startswith("DURATION") for line in lines)


def test_text_is_escaped_and_control_characters_dropped():
    assert ical.text("Acme, Inc; the \\ big one\r\nnext\x07") == (
        "Acme\\, Inc\\; the \\\\ big one\\nnext"
    )


def test_long_lines_fold_at_75_octets_never_inside_a_character():
    line = "SUMMARY:" + "Очень длинное название лида, " * 5
    folded = ical.fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(part.encode()) <= 75 for part in physical)
    assert all(part.startswith(" ") for part in physical[1:])
    assert folded.replace("\r\n ", "") == line
    assert ical.fold("SUMMARY:short") == "SUMMARY:short"
