"""Settings → Import: the founding article's two sheets moving in, with their history.

Each real-world file is built in the test: Windows-1251 and UTF-8 with a byte order mark,
semicolons and tabs, decimal commas, broken rows, 10,000-character cells and formula-like text.
"""

import io
import tracemalloc
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from crm import data_version, funnel
from crm.extensions import db
from crm.imports import changes, engine, fields, jobs, reading
from crm.models import (
    Activity,
    ActivityKind,
    Counter,
    Lead,
    LostReason,
    PlannedStep,
    Role,
    Stage,
    StageChange,
    StageKind,
    utcnow,
)
from tests import factories

# Files


def cell(value):
    value = str(value)
    if any(ch in value for ch in ';,\t"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def sheet(tmp_path, rows, name="sheet.csv", delimiter=";", encoding="utf-8"):
    """A CSV file as a spreadsheet saves it: CRLF line ends, cells quoted where needed."""
    text = "".join(delimiter.join(cell(value) for value in row) + "\r\n" for row in rows)
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def settings_for(kind, path, **chosen):
    layout = reading.inspect(path)
    guessed = fields.guess(kind, layout.headers)
    mapping = {key: index for index, key in enumerate(guessed) if key}
    return layout, engine.Settings(kind=kind, mapping=mapping, **chosen)


def check(kind, path, tmp_path, **chosen):
    """The dry run."""
    layout, settings = settings_for(kind, path, **chosen)
    report = engine.run(path, layout, settings, scratch=tmp_path / "scratch")
    db.session.rollback()
    return report


def load(kind, path, tmp_path, **chosen):
    """The import, committed."""
    layout, settings = settings_for(kind, path, **chosen)
    report = engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    db.session.commit()
    return report


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def lead_by_title(title):
    return db.session.scalar(select(Lead).where(Lead.title == title))


def history(lead):
    """The lead's stage changes as (from, to, when), by stage name, oldest first."""
    names = {stage.id: stage.name for stage in db.session.scalars(select(Stage))}
    changes = db.session.execute(
        select(StageChange.from_stage_id, StageChange.to_stage_id, StageChange.changed_at)
        .where(StageChange.lead_id == lead.id)
        .order_by(StageChange.changed_at, StageChange.id)
    )
    return [(names.get(a), names[b], at) for a, b, at in changes]


@pytest.fixture
def russian(app):
    """The founding article's funnel, in Russian, and an administrator in Moscow."""
    factories.funnel("ru")
    return factories.admin(
        name="Пётр", email="petr@example.ru", locale="ru", timezone="Europe/Moscow"
    )


LEADS_SHEET = [
    ["Список лидов", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "", ""],
    ["№", "Название", "Контакт", "Телефон", "Email", "Источник", "Сумма", "Дата"],
    [
        1,
        "ООО «Ромашка»",
        "Иван Петров",
        "+7 (999) 123-45-67",
        "Ivan@Romashka.ru",
        "Сайт",
        "1 250 000,50",
        "27.10.2026",
    ],
    [2, "ИП Сидоров", "Пётр Сидоров", "8 999 765 43 21", "", "Звонок", "", "01.11.2026 14:30"],
    [3, "Стройка-М", "Анна", "", "anna@stroyka.ru", "Рекомендация", "350 000", ""],
]
ACTIVITIES_SHEET = [
    ["Проект", "Содержание", "Дата", "Статус"],
    # Not in date order: the history comes out in date order all the same.
    ["ООО «Ромашка»", "Отправили оценку", "05.11.2026", "Сделали оценку"],
    [
        "ООО «Ромашка»",
        "Первый звонок, интересуются автоматизацией склада",
        "28.10.2026 10:00",
        "Интересуется",
    ],
    ["ИП Сидоров", "Просили перезвонить", "02.11.2026", "Холодный"],
    ["ООО «Ромашка»", "Прислали запрос на оценку", "30.10.2026 16:45", "Запросили оценку"],
    ["ООО «Ромашка»", "Подписали договор!", "20.11.2026", "Работа!"],
    ["Стройка-М", "Знакомство на выставке", "15.10.2026", "Интересуется"],
    ["ИП Сидоров", "Ушли к конкурентам", "10.11.2026", "Упущен"],
]


def founding_sheets(tmp_path):
    """The two sheets as a Russian Excel saves them: Windows-1251 with semicolons, and the
    activities as "CSV UTF-8", which has a byte order mark."""
    leads = sheet(tmp_path, LEADS_SHEET, "Лиды.csv", encoding="cp1251")
    activities = sheet(tmp_path, ACTIVITIES_SHEET, "Активности.csv", encoding="utf-8-sig")
    return leads, activities


def moscow(text):
    """A Moscow wall-clock time as stored (UTC, three hours earlier)."""
    return datetime.fromisoformat(text) - timedelta(hours=3)


def test_the_founding_sheets_move_in_with_their_history(russian, tmp_path):
    leads_file, activities_file = founding_sheets(tmp_path)
    reason = db.session.scalar(select(LostReason).order_by(LostReason.position))
    chosen = {
        "actor_id": russian.id,
        "owner_id": russian.id,
        "zone": "Europe/Moscow",
        "lost_reason_id": reason.id,
    }

    dry = check("leads", leads_file, tmp_path, **chosen)
    assert (dry.rows, dry.created, dry.updated, dry.failed) == (3, 3, 0, 0)
    assert count(Lead) == 0

    report = load("leads", leads_file, tmp_path, **chosen)
    assert (report.created, report.failed) == (3, 0)
    romashka = lead_by_title("ООО «Ромашка»")
    assert romashka.number == 1
    assert (romashka.email, romashka.phone_digits, romashka.value) == (
        "ivan@romashka.ru",
        "79991234567",
        Decimal("1250000.50"),
    )
    assert romashka.contact_name == "Иван Петров" and romashka.source == "Сайт"
    assert romashka.owner_id == russian.id
    assert romashka.created_at == moscow("2026-10-27 00:00")
    assert lead_by_title("ИП Сидоров").created_at == moscow("2026-11-01 14:30")

    dry = check("activities", activities_file, tmp_path, **chosen)
    assert (dry.rows, dry.created, dry.stage_changes, dry.failed) == (7, 7, 6, 0)
    report = load("activities", activities_file, tmp_path, **chosen)
    assert (report.created, report.stage_changes, report.failed) == (7, 6, 0)

    db.session.expire_all()
    romashka = lead_by_title("ООО «Ромашка»")
    assert history(romashka) == [
        (None, "Холодный", moscow("2026-10-27 00:00")),
        ("Холодный", "Интересуется", moscow("2026-10-28 10:00")),
        ("Интересуется", "Запросили оценку", moscow("2026-10-30 16:45")),
        ("Запросили оценку", "Сделали оценку", moscow("2026-11-05 00:00")),
        ("Сделали оценку", "Работа!", moscow("2026-11-20 00:00")),
    ]
    assert romashka.stage.name == "Работа!" and romashka.value == Decimal("1250000.50")
    assert romashka.stage_changed_at == moscow("2026-11-20 00:00")
    assert romashka.last_activity_at == moscow("2026-11-20 00:00")
    last = db.session.get(Activity, romashka.last_activity_id)
    assert last.body == "Подписали договор!" and last.author_id == russian.id

    # A lead with no date of its own came in at its first contact.
    stroyka = lead_by_title("Стройка-М")
    assert stroyka.created_at == moscow("2026-10-15 00:00")
    assert history(stroyka)[0] == (None, "Холодный", moscow("2026-10-15 00:00"))

    sidorov = lead_by_title("ИП Сидоров")
    assert sidorov.stage.name == "Упущен" and sidorov.lost_reason_id == reason.id
    assert [step[1] for step in history(sidorov)] == ["Холодный", "Упущен"]

    # Time in stage sees the imported stays.
    seconds = db.session.scalars(
        select(StageChange.seconds_in_from_stage)
        .where(StageChange.lead_id == romashka.id, StageChange.from_stage_id.is_not(None))
        .order_by(StageChange.changed_at)
    ).all()
    assert seconds[0] == int(timedelta(days=1, hours=10).total_seconds())


def test_importing_the_same_files_again_changes_nothing(russian, tmp_path):
    leads_file, activities_file = founding_sheets(tmp_path)
    chosen = {"actor_id": russian.id, "zone": "Europe/Moscow", "skip_errors": True}
    load("leads", leads_file, tmp_path, **chosen)
    load("activities", activities_file, tmp_path, **chosen)
    before = [count(model) for model in (Lead, Activity, StageChange, Stage)]
    version = data_version.current(db.session)

    again = load("leads", leads_file, tmp_path, **chosen)
    assert (again.created, again.updated, again.skipped) == (0, 0, 3)
    again = load("activities", activities_file, tmp_path, **chosen)
    assert (again.created, again.stage_changes, again.skipped) == (0, 0, 6)
    assert [count(model) for model in (Lead, Activity, StageChange, Stage)] == before
    # Nothing written, nothing for open boards to reload.
    assert data_version.current(db.session) == version


def test_a_changed_row_updates_its_lead(admin, tmp_path):
    lead = factories.lead(title="Acme", email="sales@acme.example", phone="+7 999 111-22-33")
    other = factories.lead(title="Beta")
    path = sheet(
        tmp_path,
        [
            ["Lead number", "Title", "Email", "Phone", "Value", "Source"],
            [other.number, "Beta", "", "", "99,5", ""],
            # Matched by email (written differently), then by the phone's last ten digits.
            ["", "Acme Ltd", "SALES@acme.example", "", "", "Fair"],
            ["", "Acme", "", "8 (999) 111 22 33", "", "Web"],
        ],
    )
    report = load("leads", path, tmp_path, actor_id=admin.id)
    assert (report.created, report.updated, report.skipped) == (0, 3, 0)
    assert count(Lead) == 2
    db.session.expire_all()
    assert (lead.title, lead.source) == ("Acme", "Web")
    assert other.value == Decimal("99.50")


def test_a_number_naming_another_lead_is_an_error(admin, tmp_path):
    factories.lead(title="Acme")
    path = sheet(tmp_path, [["№", "Название"], [1, "Совсем другой лид"]])
    report = check("leads", path, tmp_path)
    assert report.errors == [
        [
            2,
            "Lead #1 is “Acme”, not “Совсем другой лид”. If the numbers "
            "in the file are not the CRM's, do not import the number column.",
        ]
    ]


def test_numbers_from_the_file_are_kept_and_never_given_twice(admin, tmp_path):
    path = sheet(tmp_path, [["№", "Title"], [7, "Seven"], ["", "Unnumbered"], [3, "Three"]])
    load("leads", path, tmp_path)
    numbers = dict(db.session.execute(select(Lead.title, Lead.number)).all())
    assert numbers == {"Seven": 7, "Unnumbered": 8, "Three": 3}
    assert factories.lead(title="Next").number == 9


def test_a_failing_row_in_the_middle_leaves_nothing_behind(admin, tmp_path):
    rows = [["Title", "Email", "Value"]]
    rows += [[f"Lead {n}", f"lead{n}@example.com", "100"] for n in range(1, 1201)]
    rows[700][2] = "a lot"
    path = sheet(tmp_path, rows, delimiter=",")
    counter = db.session.scalar(select(Counter.value).where(Counter.name == "lead"))
    version = data_version.current(db.session)

    layout, settings = settings_for("leads", path)
    with pytest.raises(engine.ImportFailed) as failed:
        engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    assert failed.value.message == (
        "Line 701: “Value”: “a lot” is not an amount: write it like 1 250 000,50 or "
        "1250000.50. Nothing was imported."
    )
    db.session.commit()
    assert count(Lead) == 0 and count(StageChange) == 0
    assert db.session.scalar(select(Counter.value).where(Counter.name == "lead")) == counter
    assert data_version.current(db.session) == version


def test_a_contact_failing_late_leaves_nothing_behind(admin, stages, tmp_path):
    leads = [["Title"]] + [[f"Lead {n}"] for n in range(600)]
    load("leads", sheet(tmp_path, leads, name="leads.csv"), tmp_path)
    # More leads than one batch: the first batch's contacts are written when the last fails.
    assert engine.LEADS_PER_BATCH < 600
    rows = [["Lead", "Date", "Notes", "Status"]]
    rows += [[f"Lead {n}", "2026-01-05", "Called", stages[1].name] for n in range(600)]
    # The last lead is lost without a reason: the funnel refuses, and it comes last.
    rows.append(["Lead 599", "2026-01-06", "Gone", stages[-1].name])
    path = sheet(tmp_path, rows, delimiter="\t")
    layout, settings = settings_for("activities", path)
    with pytest.raises(engine.ImportFailed, match="Line 602: Say why the lead was lost."):
        engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    db.session.commit()
    assert count(Activity) == 0
    assert count(StageChange) == 600


def test_rows_with_errors_can_be_skipped(admin, tmp_path):
    path = sheet(tmp_path, [["Title", "Value"], ["Good", "1"], ["Bad", "x"], ["Fine", "2"]])
    report = load("leads", path, tmp_path, skip_errors=True)
    assert (report.created, report.failed) == (2, 1)
    assert sorted(db.session.scalars(select(Lead.title))) == ["Fine", "Good"]


def test_real_world_rows_and_their_errors_by_line(admin, stages, tmp_path):
    long_cell = "Долгий разговор. " * 588  # 9,996 characters: as long as a cell may be, nearly
    rows = [
        ["Title", "Contact", "Email", "Phone", "Value", "Date", "Notes"],
        [
            '=HYPERLINK("http://example.com";"Acme")',
            "+7 999",
            "a@b.example",
            "+7 999 000-11-22",
            "1 000",
            "2026-01-02",
            long_cell,
        ],
        ["", "", "", "", "", "", ""],
        ["Bad email", "", "not an email", "", "", "", ""],
        ["Bad date", "", "", "", "", "32.13.2026", ""],
        ["Too wide", "", "", "", "", "", "", "extra"],
        ["x" * 201, "", "", "", "", "", ""],
        ["", "", "", "", "", "", "only notes"],
        ["Long contact", long_cell, "", "", "", "", ""],
        ["Future", "", "", "", "", (utcnow() + timedelta(days=30)).strftime("%d.%m.%Y"), ""],
    ]
    path = sheet(tmp_path, rows)
    report = check("leads", path, tmp_path)
    assert (report.rows, report.created, report.skipped, report.failed) == (9, 1, 1, 7)
    assert report.errors == [
        [4, "“Email”: “not an email” is not an email address."],
        [
            5,
            "“Date”: “32.13.2026” is not a date: write it like 27.11.2026, 27.11.2026 14:30 or "
            "2026-11-27.",
        ],
        [6, "The row has more cells than the header: is a delimiter or a quote mark out of place?"],
        [7, "“Title”: Keep it under 200 characters."],
        [8, "A new lead needs a title, a contact, an email or a phone: the row has none."],
        [9, "“Contact”: Keep it under 200 characters."],
        [10, "“Date”: The date is in the future."],
    ]
    load("leads", path, tmp_path, skip_errors=True)
    lead = db.session.scalar(select(Lead))
    # Formula-like cells are text, stored as written.
    assert lead.title == '=HYPERLINK("http://example.com";"Acme")'
    assert lead.contact_name == "+7 999"


def test_a_long_conversation_is_kept_whole_and_a_too_long_one_refused(admin, stages, tmp_path):
    factories.lead(title="Acme")
    said = "Обсудили всё подробно. " * 340  # 7,820 characters: under the 8,000 a note holds
    path = sheet(
        tmp_path,
        [
            ["Lead", "Date", "Content"],
            ["Acme", "2026-01-02", said],
            ["Acme", "2026-01-03", "x" * 10_000],
            ["Acme", "2026-01-04", "@channel =1+1 -call"],
        ],
    )
    report = load("activities", path, tmp_path, skip_errors=True)
    assert report.errors == [[3, "“Content”: Keep it under 8000 characters."]]
    bodies = db.session.scalars(select(Activity.body).order_by(Activity.occurred_at)).all()
    assert bodies == [said.strip(), "@channel =1+1 -call"]


def test_dates_that_read_either_way_are_asked_about(admin, stages, tmp_path):
    factories.lead(title="Acme")
    path = sheet(
        tmp_path, [["Lead", "Date"], ["Acme", "03/04/2026"], ["Acme", "05/06/2026"]], delimiter=","
    )
    layout = reading.inspect(path)
    assert (layout.columns[1].slashed, layout.columns[1].date_order) == (True, None)

    report = check("activities", path, tmp_path)
    assert report.date_order_needed and report.has_questions
    assert report.errors[0] == [
        2,
        "“Date”: “03/04/2026” reads as a date either way: say "
        "whether the day or the month comes first.",
    ]
    load("activities", path, tmp_path, date_order="day-first")
    dates = db.session.scalars(select(Activity.occurred_at).order_by(Activity.occurred_at))
    assert list(dates) == [datetime(2026, 4, 3), datetime(2026, 6, 5)]


def test_unknown_statuses_are_asked_about_then_mapped_or_created(admin, stages, tmp_path):
    for title in ("Acme", "Beta", "Gamma"):
        factories.lead(title=title)
    path = sheet(
        tmp_path,
        [
            ["Lead", "Date", "Status"],
            ["Acme", "2026-01-02", "interested"],  # a stage's name, in another case
            ["Beta", "2026-01-02", "Thinking"],
            ["Gamma", "2026-01-02", "On hold"],
            ["Gamma", "2026-01-03", "on hold"],
        ],
    )
    report = check("activities", path, tmp_path)
    assert report.unknown_statuses == {"thinking": ["Thinking", 1], "on hold": ["On hold", 2]}
    stage_count = count(Stage)

    interested = stages[1]
    answers = {"thinking": f"stage:{interested.id}", "on hold": "new:open"}
    report = check("activities", path, tmp_path, statuses=answers)
    assert not report.has_questions and report.new_stages == ["On hold"]
    assert count(Stage) == stage_count  # a dry run creates nothing

    load("activities", path, tmp_path, statuses=answers)
    on_hold = db.session.scalar(select(Stage).where(Stage.name == "On hold"))
    assert on_hold.kind == StageKind.OPEN
    # Placed after the last open stage, before the won and lost ones.
    assert on_hold.position == max(s.position for s in stages if s.kind == StageKind.OPEN) + 1
    assert lead_by_title("Acme").stage_id == interested.id
    assert lead_by_title("Beta").stage_id == interested.id
    assert lead_by_title("Gamma").stage_id == on_hold.id


def test_an_unanswered_status_stops_the_import(admin, stages, tmp_path):
    factories.lead(title="Acme")
    path = sheet(tmp_path, [["Lead", "Date", "Status"], ["Acme", "2026-01-02", "Nope"]])
    layout, settings = settings_for("activities", path)
    with pytest.raises(engine.ImportFailed, match="No stage is called “Nope”"):
        engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")


def test_closing_stages_need_a_reason_and_a_value(admin, stages, tmp_path):
    won, lost = stages[-2], stages[-1]
    factories.lead(title="Acme", value=None)
    factories.lead(title="Beta")
    path = sheet(
        tmp_path,
        [
            ["Lead", "Date", "Status", "Why lost"],
            ["Acme", "2026-01-02", won.name, ""],
            ["Beta", "2026-01-02", lost.name, "Too pricey for them"],
        ],
    )
    report = check("activities", path, tmp_path)
    assert report.errors == [
        [2, "Enter the final value of the deal."],
        [3, "Say why the lead was lost."],
    ]
    reason = db.session.scalar(select(LostReason).order_by(LostReason.position))
    report = load("activities", path, tmp_path, won_value="0", lost_reason_id=reason.id)
    assert report.failed == 0
    acme, beta = lead_by_title("Acme"), lead_by_title("Beta")
    assert (acme.stage_id, acme.value) == (won.id, Decimal("0.00"))
    # A reason the list does not have is kept as the note.
    assert (beta.lost_reason_id, beta.lost_note) == (reason.id, "Too pricey for them")


def test_contacts_find_leads_by_number_email_phone_or_title(admin, stages, tmp_path):
    first = factories.lead(title="Acme")
    factories.lead(title="Beta", email="beta@example.com")
    factories.lead(title="Gamma", phone="+7 (912) 345-67-89")
    factories.lead(title="Delta Corp")
    factories.lead(title="Twin")
    factories.lead(title="Twin")
    path = sheet(
        tmp_path,
        [
            ["Lead number", "Lead", "Email", "Phone", "Date"],
            [f"#{first.number}", "", "", "", "2026-01-01"],
            ["", "", "BETA@example.com", "", "2026-01-01"],
            ["", "", "", "8 912 345 67 89", "2026-01-01"],
            ["", "DELTA CORP", "", "", "2026-01-01"],
            ["", "Twin", "", "", "2026-01-01"],
            ["", "Nobody", "", "", "2026-01-01"],
        ],
    )
    layout, settings = settings_for("activities", path)
    assert settings.mapping == {
        "lead_number": 0,
        "lead_title": 1,
        "lead_email": 2,
        "lead_phone": 3,
        "occurred_at": 4,
    }
    report = load("activities", path, tmp_path, skip_errors=True)
    assert report.created == 4
    assert report.errors == [
        [
            6,
            "Several leads are called “Twin”: name the lead by its number, email or phone instead.",
        ],
        [7, "No lead matches “Nobody”: import the leads sheet first, or check the name."],
    ]
    with_contacts = db.session.scalars(
        select(Lead.title).join(Activity, Activity.lead_id == Lead.id).order_by(Lead.title)
    ).all()
    assert with_contacts == ["Acme", "Beta", "Delta Corp", "Gamma"]


def test_kinds_authors_and_the_default_kind(admin, stages, tmp_path):
    seller = factories.user(name="Sam Seller", email="sam@example.com")
    factories.lead(title="Acme", owner=seller)
    meeting = db.session.scalar(select(ActivityKind).where(ActivityKind.code == "meeting"))
    email_kind = db.session.scalar(select(ActivityKind).where(ActivityKind.code == "email"))
    path = sheet(
        tmp_path,
        [
            ["Lead", "Date", "Type", "Author"],
            ["Acme", "2026-01-01", "meeting", "ada@example.com"],
            ["Acme", "2026-01-02", "Telegram", ""],
            ["Acme", "2026-01-03", "", "Someone Else"],
        ],
    )
    report = load("activities", path, tmp_path, kind_id=email_kind.id, skip_errors=True)
    assert report.unknown_kinds == {"telegram": ["Telegram", 1]}
    assert report.errors == [
        [
            4,
            "“Author”: Nobody called “Someone Else” has an account: add "
            "them under Settings → Users, or leave the cell empty.",
        ]
    ]
    rows = db.session.execute(
        select(Activity.kind_id, Activity.author_id).order_by(Activity.occurred_at)
    ).all()
    # Without an author, a contact is the lead owner's.
    assert rows == [(meeting.id, admin.id), (email_kind.id, seller.id)]


def test_an_activity_answers_the_planned_step_it_kept(admin, stages, tmp_path):
    lead = factories.lead(title="Acme", next_step_at=datetime(2026, 1, 5, 9))
    path = sheet(tmp_path, [["Lead", "Date"], ["Acme", "05.01.2026 11:00"]])
    load("activities", path, tmp_path)
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.lead_id == lead.id))
    activity = db.session.scalar(select(Activity))
    assert step.kept_by_activity_id == activity.id


def test_the_import_writes_what_the_funnel_service_would(admin, stages, tmp_path):
    """A lead and its history made by the import match one made through crm.funnel."""
    won = stages[-2]
    path = sheet(
        tmp_path,
        [
            ["Title", "Contact", "Phone", "Email", "Source", "Value", "Date", "Next step"],
            [
                "Acme",
                "Ann",
                "+7 999 1",
                "Ann@Acme.example",
                "Web",
                "100,5",
                "2025-01-01 09:00",
                "2030-01-01 10:00",
            ],
        ],
    )
    load("leads", path, tmp_path, actor_id=admin.id, owner_id=admin.id)
    contacts = sheet(
        tmp_path,
        [
            ["Lead", "Date", "Content", "Status"],
            ["Acme", "2025-01-02 10:00", "Called", stages[1].name],
            ["Acme", "2025-01-03 10:00", "Met", stages[2].name],
            ["Acme", "2025-01-04 10:00", "Signed", won.name],
        ],
        name="contacts.csv",
    )
    load("activities", contacts, tmp_path, actor_id=admin.id)
    imported = lead_by_title("Acme")

    made = funnel.create_lead(
        admin,
        at=datetime(2025, 1, 1, 9),
        title="Acme",
        contact_name="Ann",
        phone="+7 999 1",
        email="Ann@Acme.example",
        source="Web",
        value=Decimal("100.5"),
        owner_id=admin.id,
        next_step_at=datetime(2030, 1, 1, 10),
    )
    call = db.session.scalar(select(ActivityKind).where(ActivityKind.code == "call"))
    for when, said, stage in [
        ("2025-01-02 10:00", "Called", stages[1]),
        ("2025-01-03 10:00", "Met", stages[2]),
        ("2025-01-04 10:00", "Signed", won),
    ]:
        funnel.log_activity(
            made, admin, call, said, occurred_at=datetime.fromisoformat(when), stage=stage
        )
    db.session.commit()

    ignored = {
        "id",
        "number",
        "search_text",
        "updated_at",
        "last_activity_id",
        "created_at",
        "lead_id",
        "activity_id",
        "planned_at",
        "ended_at",
        "kept_by_activity_id",
        "ended_by_activity_id",
    }

    def columns(record):
        return {
            c.key: getattr(record, c.key) for c in record.__table__.columns if c.key not in ignored
        }

    def rows(model, lead, order):
        records = db.session.scalars(
            select(model).where(model.lead_id == lead.id).order_by(order, model.id)
        )
        return [columns(record) for record in records]

    db.session.expire_all()
    assert columns(imported) == columns(made)
    assert imported.created_at == made.created_at
    assert rows(Activity, imported, Activity.occurred_at) == rows(
        Activity, made, Activity.occurred_at
    )
    assert rows(StageChange, imported, StageChange.changed_at) == rows(
        StageChange, made, StageChange.changed_at
    )
    assert rows(PlannedStep, imported, PlannedStep.due_at) == rows(
        PlannedStep, made, PlannedStep.due_at
    )


def test_the_dry_run_keeps_the_first_errors_and_counts_the_rest(admin, tmp_path):
    rows = [["Title", "Value"]] + [[f"Lead {n}", "?"] for n in range(5000)]
    report = check("leads", sheet(tmp_path, rows), tmp_path)
    assert report.failed == 5000
    assert len(report.errors) == engine.ERRORS_KEPT
    assert report.errors[0][0] == 2 and report.errors[-1][0] == engine.ERRORS_KEPT + 1


def test_a_big_file_is_read_row_by_row(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Title;Email;Phone;Notes\r\n")
        for n in range(100_000):
            out.write(f"Lead {n};lead{n}@example.com;+7 999 {n:07d};Something said about it\r\n")
    layout = reading.inspect(path)
    tracemalloc.start()
    rows = 0
    for _line, _cells in reading.Table(path, layout).rows():
        rows += 1
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 100_000
    # The file is some 6 MB, and as Python lists and strings many times that.
    assert peak < 2 * 1024 * 1024


# The pages


def upload(client, content, name="leads.csv", kind="leads"):
    return client.post(
        "/settings/import/",
        data={"kind": kind, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def job_of(response):
    return response.headers["Location"].rstrip("/").split("/")[-2]


def test_upload_map_check_and_import(logged_in, admin, stages, tmp_path):
    content = "\r\n".join(
        [
            "Название;Телефон;Сумма;Статус;Что-то своё",
            "ООО Ромашка;+7 999 123-45-67;1 250 000,50;Interested;x",
            "ИП Сидоров;8 999 765 43 21;;Cold;y",
        ]
    ).encode("cp1251")
    response = upload(logged_in, content)
    assert response.status_code == 303
    columns_url = response.headers["Location"]
    job_id = job_of(response)

    page = logged_in.get(columns_url).text
    # Each select has its label, the column's letter and header, and is guessed.
    assert '<label for="column_0">Column A: “Название”</label>' in page
    assert '<option selected value="title">Title</option>' in page
    # A column the lead has no field for becomes a field of the team's, unless told otherwise.
    assert '<option selected value="new:text">New field: Text</option>' in page
    assert "Windows-1251, semicolons" in page
    assert "For example: ООО Ромашка · ИП Сидоров" in page

    choices = {
        "column_0": "title",
        "column_1": "phone",
        "column_2": "value",
        "column_3": "status",
        "column_4": "",
        "owner_id": str(admin.id),
        "lost_reason_id": "",
        "won_value": "",
    }
    response = logged_in.post(columns_url, data=choices)
    assert response.status_code == 303
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "What the import would do" in page
    assert '<dd id="import-created">2</dd>' in page
    assert count(Lead) == 0

    response = logged_in.post(f"/settings/import/{job_id}/import", data={})
    assert response.status_code == 303
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "Imported" in page and "See the leads" in page
    assert count(Lead) == 2
    assert lead_by_title("ООО Ромашка").stage_id == stages[1].id
    assert lead_by_title("ИП Сидоров").owner_id == admin.id
    # The upload, with people's details in it, is gone once imported.
    assert not (jobs.root() / job_id / jobs.UPLOAD).exists()


def test_the_mapping_refuses_a_field_twice_and_nothing_to_name_the_lead(logged_in, admin, stages):
    response = upload(logged_in, b"Title,Other\nAcme,x\n")
    columns_url = response.headers["Location"]
    response = logged_in.post(columns_url, data={"column_0": "title", "column_1": "title"})
    assert response.status_code == 422
    assert "“Title” is chosen for another column too." in response.text
    response = logged_in.post(columns_url, data={"column_0": "source", "column_1": ""})
    assert response.status_code == 422
    assert "Choose the column with the leads&#39; titles" in response.text
    response = upload(logged_in, b"Lead,Notes\nAcme,x\n", kind="activities")
    response = logged_in.post(
        response.headers["Location"], data={"column_0": "lead_title", "column_1": "body"}
    )
    assert response.status_code == 422
    assert "Choose the column with the date of each contact." in response.text


def test_the_mapping_asks_which_comes_first_in_slashed_dates(logged_in, admin, stages):
    factories.lead(title="Acme")
    response = upload(logged_in, b"Lead,Date\nAcme,03/04/2026\n", kind="activities")
    columns_url = response.headers["Location"]
    job_url = f"/settings/import/{job_of(response)}"
    page = logged_in.get(columns_url).text
    assert "Day first: 03/04/2026 is 3 April 2026" in page
    choices = {"column_0": "lead_title", "column_1": "occurred_at"}
    response = logged_in.post(columns_url, data=choices)
    assert response.status_code == 422
    assert "Say whether the day or the month comes first in these dates." in response.text
    response = logged_in.post(columns_url, data=choices | {"date_order": "month-first"})
    assert response.status_code == 303
    logged_in.post(f"{job_url}/import", data={})
    assert db.session.scalar(select(Activity.occurred_at)) == datetime(2026, 3, 4)


def test_the_report_asks_about_unknown_statuses(logged_in, admin, stages):
    factories.lead(title="Acme")
    response = upload(logged_in, b"Lead,Date,Status\nAcme,2026-01-02,Thinking\n", kind="activities")
    columns_url = response.headers["Location"]
    job_id = job_of(response)
    logged_in.post(
        columns_url,
        data={"column_0": "lead_title", "column_1": "occurred_at", "column_2": "status"},
    )
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "Status “Thinking” (1 row)" in page
    assert "Create an open stage “Thinking”" in page
    # No import while a question is open.
    response = logged_in.post(f"/settings/import/{job_id}/import", data={})
    assert response.status_code == 422
    assert count(Activity) == 0

    response = logged_in.post(
        f"/settings/import/{job_id}/answers", data={"status_0": "new:lost"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == f"/settings/import/{job_id}"
    page = logged_in.get(f"/settings/import/{job_id}").text
    # A lost stage needs a reason: the check says so before anything is made.
    assert "<td>2</td><td>Say why the lead was lost.</td>" in page
    assert db.session.scalar(select(Stage).where(Stage.name == "Thinking")) is None

    response = logged_in.post(
        f"/settings/import/{job_id}/columns",
        data={
            "column_0": "lead_title",
            "column_1": "occurred_at",
            "column_2": "status",
            "lost_reason_id": str(db.session.scalar(select(LostReason.id))),
        },
    )
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "New stages" in page and "Thinking" in page and "Rows with errors" in page
    logged_in.post(f"/settings/import/{job_id}/import", data={})
    thinking = db.session.scalar(select(Stage).where(Stage.name == "Thinking"))
    assert thinking.kind == StageKind.LOST
    assert lead_by_title("Acme").stage_id == thinking.id


def test_rows_with_errors_need_the_box_ticked(logged_in, admin, stages):
    response = upload(logged_in, b"Title,Value\nAcme,1\nBeta,lots\n")
    job_id = job_of(response)
    logged_in.post(response.headers["Location"], data={"column_0": "title", "column_1": "value"})
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "<td>3</td><td>“Value”: “lots” is not an amount" in page
    response = logged_in.post(f"/settings/import/{job_id}/import", data={})
    assert response.status_code == 422
    assert "tick the box to skip them" in response.text
    response = logged_in.post(f"/settings/import/{job_id}/import", data={"skip_errors": "y"})
    assert response.status_code == 303
    assert list(db.session.scalars(select(Lead.title))) == ["Acme"]


HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def test_the_status_polls_while_running_and_stops_when_done(logged_in, admin, stages):
    response = upload(logged_in, b"Title\nAcme\n")
    job = jobs.get(job_of(response))
    job.settings = engine.Settings(kind="leads", mapping={"title": 0})
    job.save()
    job.set_state(status=jobs.IMPORTING, phase="reading", share=0.42, rows=4200)

    page = logged_in.get(f"/settings/import/{job.id}")
    assert "<html" in page.text
    assert 'http-equiv="refresh"' in page.text  # without scripts the page reloads itself
    fragment = logged_in.get(f"/settings/import/{job.id}", headers=HTMX)
    assert "<html" not in fragment.text
    assert 'hx-trigger="load delay:1s"' in fragment.text
    assert '<progress id="import-progress" max="100" value="42"' in fragment.text
    assert "4200 rows read" in fragment.text

    job.set_state(status=jobs.CHECKED, report=engine.Report(rows=1, created=1).to_dict())
    fragment = logged_in.get(f"/settings/import/{job.id}", headers=HTMX)
    assert "hx-trigger" not in fragment.text and "What the import would do" in fragment.text


def test_an_interrupted_job_says_nothing_was_imported(logged_in, admin, stages):
    response = upload(logged_in, b"Title\nAcme\n")
    job = jobs.get(job_of(response))
    job.set_state(status=jobs.IMPORTING, applying=True)
    state = job.folder / "state.json"
    stale = state.read_text().replace('"updated": ', '"updated": -')
    state.write_text(stale)
    page = logged_in.get(f"/settings/import/{job.id}").text
    assert "The server stopped while working on it. Nothing was imported." in page
    assert job.lock()


def test_an_upload_needs_the_form_s_token(app, logged_in, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    response = upload(logged_in, b"Title\nAcme\n")
    assert response.status_code == 400
    assert "This form has expired or was sent from elsewhere." in response.text
    assert jobs.recent() == []


def test_a_file_over_the_upload_limit_is_refused(app, logged_in, admin):
    app.config["IMPORT_MAX_BYTES"] = 1000
    response = upload(logged_in, b"Title\n" + b"Acme\n" * 500)
    assert response.status_code == 413
    assert jobs.recent() == []


def test_uploads_that_cannot_be_read(logged_in, admin):
    response = logged_in.post(
        "/settings/import/", data={"kind": "leads"}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choose the file to import." in response.text
    response = upload(logged_in, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls")
    assert response.status_code == 422
    assert "Old Excel files (.xls) cannot be read" in response.text
    assert jobs.recent() == []


def test_an_xlsx_workbook_of_two_sheets(logged_in, admin, stages, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    leads = workbook.active
    leads.title = "Лиды"
    leads.append(["№", "Название", "Телефон", "Дата", "Сумма"])
    leads.append([1, "Acme", 79991234567, datetime(2025, 11, 27, 14, 30), 1250000.5])
    contacts = workbook.create_sheet("Активности")
    contacts.append(["Проект", "Дата", "Содержание"])
    contacts.append(["Acme", datetime(2025, 11, 28, 10, 0), "Созвонились"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = upload(logged_in, buffer.getvalue(), "crm.xlsx")
    columns_url = response.headers["Location"]
    job_id = job_of(response)
    page = logged_in.get(columns_url).text
    assert '<option value="Лиды" selected>Лиды</option>' in page
    logged_in.post(
        columns_url,
        data={
            "column_0": "number",
            "column_1": "title",
            "column_2": "phone",
            "column_3": "created_at",
            "column_4": "value",
            "owner_id": str(admin.id),
        },
    )
    logged_in.post(f"/settings/import/{job_id}/import", data={})
    lead = lead_by_title("Acme")
    assert (lead.number, lead.phone_digits, lead.value) == (1, "79991234567", Decimal("1250000.50"))
    assert lead.created_at == datetime(2025, 11, 27, 14, 30)

    response = upload(logged_in, buffer.getvalue(), "crm.xlsx", kind="activities")
    job_id = job_of(response)
    logged_in.post(f"/settings/import/{job_id}/sheet", data={"sheet": "Активности"})
    page = logged_in.get(f"/settings/import/{job_id}/columns").text
    assert "Column A: “Проект”" in page
    logged_in.post(
        f"/settings/import/{job_id}/columns",
        data={"column_0": "lead_title", "column_1": "occurred_at", "column_2": "body"},
    )
    logged_in.post(f"/settings/import/{job_id}/import", data={})
    assert db.session.scalar(select(Activity.body)) == "Созвонились"


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.MANAGER])
def test_only_administrators_import(client, auth, admin, role):
    person = factories.user(role=role)
    auth.login(person.email)
    assert client.get("/settings/import/").status_code == 403
    assert upload(client, b"Title\nAcme\n").status_code == 403
    for path in (
        "/settings/import/abcdefghijklmnopqrstuvwx",
        "/settings/import/abcdefghijklmnopqrstuvwx/columns",
    ):
        assert client.get(path).status_code == 403
    assert client.post("/settings/import/abcdefghijklmnopqrstuvwx/import").status_code == 403
    assert "/settings/import/" not in client.get("/settings/").text
    assert count(Lead) == 0


def test_logged_out_visitors_are_sent_to_log_in(client, admin):
    response = client.get("/settings/import/")
    assert response.status_code == 302 or response.status_code == 303
    assert "/login" in response.headers["Location"]


def test_the_settings_page_links_to_the_import(logged_in):
    assert 'href="/settings/import/"' in logged_in.get("/settings/").text


def test_unknown_jobs_are_not_found(logged_in):
    assert logged_in.get("/settings/import/not-a-job").status_code == 404
    assert logged_in.get("/settings/import/" + "a" * 32).status_code == 404
    assert logged_in.get("/settings/import/../../secret_key").status_code == 404


def test_an_import_moves_the_data_version(admin, tmp_path):
    """Open boards and kept reports learn of leads written in bulk."""
    before = data_version.current(db.session)
    load(
        fields.LEADS,
        sheet(tmp_path, [["Название", "Телефон"], ["ООО Новая", "+7 900 1"]]),
        tmp_path,
    )
    assert data_version.current(db.session) > before


# What the dry run says about each lead


def stage_named(stage):
    return {"id": stage.id, "name": stage.name}


def test_the_dry_run_says_what_changes_on_each_lead(admin, stages, tmp_path):
    factories.user(name="Sam Seller", email="sam@example.com")
    acme = factories.lead(title="Acme", phone="+7 999 111-22-33", owner_id=admin.id)
    beta = factories.lead(title="Beta")
    path = sheet(
        tmp_path,
        [
            ["№", "Название", "Телефон", "Сумма", "Ответственный", "Статус"],
            [acme.number, "Acme", "+7 999 111-22-44", "1 500", "Sam Seller", ""],
            [beta.number, "Beta", "", "", "", stages[1].name],
            ["", "Gamma", "", "", "", ""],
            ["", "Delta", "", "", "", stages[2].name],
            # Nothing new about Beta: not listed again.
            [beta.number, "Beta", "", "", "", ""],
        ],
    )
    report = check("leads", path, tmp_path, owner_id=admin.id)
    assert (report.created, report.updated, report.skipped) == (2, 2, 1)
    assert report.leads_changed == 4
    assert report.lead_changes == [
        {
            "number": acme.number,
            "title": "Acme",
            "new": False,
            "fields": [
                ["phone", "+7 999 111-22-33", "+7 999 111-22-44"],
                ["value", "1000.00", "1500.00"],
                ["owner", "Ada Admin", "Sam Seller"],
            ],
            "stages": [],
            "contacts": 0,
        },
        {
            "number": beta.number,
            "title": "Beta",
            "new": False,
            "fields": [],
            "stages": [stage_named(stages[0]), stage_named(stages[1])],
            "contacts": 0,
        },
        {
            "number": beta.number + 1,
            "title": "Gamma",
            "new": True,
            "fields": [],
            "stages": [stage_named(stages[0])],
            "contacts": 0,
        },
        {
            "number": beta.number + 2,
            "title": "Delta",
            "new": True,
            "fields": [],
            "stages": [stage_named(stages[2])],
            "contacts": 0,
        },
    ]
    # The file of them all holds the same.
    listed, total = changes.page(tmp_path / "scratch" / engine.CHANGES_FILE, 1)
    assert total == 4
    assert [vars(change) for change in listed] == report.lead_changes


def test_the_dry_run_of_contacts_says_what_each_lead_goes_through(admin, stages, tmp_path):
    acme = factories.lead(title="Acme")
    beta = factories.lead(title="Beta")
    factories.lead(title="Idle")
    path = sheet(
        tmp_path,
        [
            ["Клиент", "Дата", "Что сказали", "Статус"],
            # Not in date order: the way through the funnel is told in date order.
            ["Acme", "2026-01-03", "Sent the estimate", stages[3].name],
            ["Acme", "2026-01-01", "First call", stages[1].name],
            ["Acme", "2026-01-02", "Asked for an estimate", stages[2].name],
            ["Beta", "2026-01-02", "No answer", ""],
            ["Beta", "2026-01-05", "Still thinking", stages[0].name],
        ],
    )
    report = check("activities", path, tmp_path)
    assert report.lead_changes == [
        {
            "number": acme.number,
            "title": "Acme",
            "new": False,
            "fields": [],
            "stages": [stage_named(stage) for stage in stages[:4]],
            "contacts": 3,
        },
        {
            "number": beta.number,
            "title": "Beta",
            "new": False,
            "fields": [],
            "stages": [],
            "contacts": 2,
        },
    ]
    load("activities", path, tmp_path)
    again = check("activities", path, tmp_path)
    assert (again.leads_changed, again.lead_changes) == (0, [])


def test_a_long_way_through_the_funnel_is_shown_by_its_ends():
    assert changes.shortened(list(range(5))) == [0, 1, 2, 3, 4]
    assert changes.shortened(list(range(20))) == [0, None, 14, 15, 16, 17, 18, 19]


def test_an_import_lists_no_changes_and_a_stopped_dry_run_leaves_no_list(admin, tmp_path):
    path = sheet(tmp_path, [["Title"], ["Acme"]])
    report = load("leads", path, tmp_path)
    assert (report.created, report.lead_changes, report.leads_changed) == (1, [], 0)
    # A quote mark out of place after more rows than the upload samples makes one cell of the
    # rest of the file: the upload reads to the end and refuses it; a dry run of it (the file
    # changed since) stops there.
    broken = tmp_path / "broken.csv"
    good = "".join(f"Lead {n}\r\n" for n in range(reading.SAMPLE_ROWS + 100))
    broken.write_bytes(f"Title\r\n{good}".encode())
    layout = reading.inspect(broken)
    broken.write_bytes(f'Title\r\n{good}"Acme\r\n'.encode() + b"x" * 200_000)
    with pytest.raises(reading.FileProblem, match="Line 1,102 has a cell of more than 10,000"):
        reading.inspect(broken)
    listed = tmp_path / "changes.sqlite3"
    with pytest.raises(engine.ImportFailed):
        engine.run(
            broken,
            layout,
            engine.Settings(kind="leads", mapping={"title": 0}),
            scratch=tmp_path / "scratch",
            changes=listed,
        )
    assert not listed.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".changes")] == []


def test_the_kinds_message_names_the_kind_used_instead(logged_in, admin, stages):
    factories.lead(title="Acme")
    content = "\r\n".join(
        [
            "Клиент;Дата;Тип;Что сказали",
            "Acme;02.01.2026;Звонок в WhatsApp;Договорились о встрече",
            "Acme;03.01.2026;Telegram;Прислали КП",
            "Acme;04.01.2026;Звонок в WhatsApp;Встреча перенесена",
        ]
    ).encode("utf-8-sig")
    response = upload(logged_in, content, kind="activities")
    job_id = job_of(response)
    email_kind = factories.kind("email")
    logged_in.post(
        response.headers["Location"],
        data={
            "column_0": "lead_title",
            "column_1": "occurred_at",
            "column_2": "kind",
            "column_3": "body",
            "kind_id": str(email_kind.id),
        },
    )
    report = jobs.get(job_id).report
    assert report.default_kind == "Email"
    assert report.unknown_kinds == {
        "звонок в whatsapp": ["Звонок в WhatsApp", 2],
        "telegram": ["Telegram", 1],
    }
    page = ImportPage(logged_in.get(f"/settings/import/{job_id}").text)
    assert page.kinds == (
        "Kinds of contact the CRM does not know will be recorded as “Email”, the default kind: "
        "Звонок в WhatsApp, Telegram."
    )


class ImportPage(HTMLParser):
    """What the tests read off an import's pages: the warnings, the kinds message, and each
    lead's changes as (lead, [(what, change)])."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.warnings, self.leads, self.kinds, self.headings, self.links = [], [], None, [], {}
        self._text = None
        self._in_changes = False
        self._cell = 0
        self._href = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "p" and "message-warning" in classes or attrs.get("id") == "import-unknown-kinds":
            self._text = ("p", attrs.get("id"), [])
        elif tag in ("h1", "h2"):
            self._text = (tag, None, [])
        elif tag == "table" and "import-changes" in classes:
            self._in_changes = True
        elif self._in_changes and tag == "tr":
            self._cell = 0
        elif self._in_changes and tag == "td":
            self._cell += 1
            if self._cell == 1:
                self._text = ("lead", None, [])
        elif self._in_changes and tag in ("dt", "dd"):
            self._text = (tag, None, [])
        elif tag == "a":
            self._href = attrs.get("href")
            self._link = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_changes = False
        if tag == "a" and self._href is not None:
            self.links[" ".join("".join(self._link).split())] = self._href
            self._href = None
        if self._text is None:
            return
        kind, name, parts = self._text
        text = " ".join("".join(parts).split())
        if kind == "p" and tag == "p":
            if name == "import-unknown-kinds":
                self.kinds = text
            else:
                self.warnings.append(text)
        elif kind in ("h1", "h2") and tag == kind:
            self.headings.append(text)
        elif kind == "lead" and tag == "td":
            self.leads.append((text, []))
        elif kind == "dt" and tag == "dt":
            self.leads[-1][1].append([text, None])
        elif kind == "dd" and tag == "dd":
            self.leads[-1][1][-1][1] = text
        else:
            return
        self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text[2].append(data)
        if self._href is not None:
            self._link.append(data)

    def changes(self):
        return [(lead, [tuple(line) for line in lines]) for lead, lines in self.leads]


def test_the_report_page_shows_each_lead_s_changes(logged_in, admin, stages):
    acme = factories.lead(title="Acme", phone="+7 999 111-22-33", next_step_at=datetime(2030, 1, 2))
    beta = factories.lead(title="Beta")
    content = "\r\n".join(
        [
            "№;Название;Телефон;Сумма;Статус;Следующий контакт",
            f"{acme.number};Acme;+7 999 111-22-44;1 500,50;;05.01.2030 10:30",
            f"{beta.number};Beta;;;{stages[1].name};",
            ";Gamma;;;;",
        ]
    ).encode("cp1251")
    response = upload(logged_in, content)
    job_id = job_of(response)
    logged_in.post(
        response.headers["Location"],
        data={
            "column_0": "number",
            "column_1": "title",
            "column_2": "phone",
            "column_3": "value",
            "column_4": "status",
            "column_5": "next_step_at",
            "owner_id": str(admin.id),
        },
    )
    page = ImportPage(logged_in.get(f"/settings/import/{job_id}").text)
    assert "What the import would do to each lead" in page.headings
    assert page.changes() == [
        (
            f"#{acme.number} Acme",
            [
                ("Phone", "+7 999 111-22-33 → +7 999 111-22-44"),
                ("Value", "1,000 → 1,500.50"),
                ("Next step (date)", "Jan 2, 2030 → Jan 5, 2030 10:30 AM"),
            ],
        ),
        (f"#{beta.number} Beta", [("Stage", "Cold → Interested")]),
        (f"#{beta.number + 1} Gamma", [("New lead, at the stage", "Cold")]),
    ]
    # Existing leads link to their page; the new one has none yet.
    assert page.links[f"#{acme.number} Acme"] == f"/leads/{acme.number}"
    assert f"#{beta.number + 1} Gamma" not in page.links
    # Only a first few: nothing to see all of.
    assert not any(text.startswith("See all") for text in page.links)


def test_a_sheet_of_many_leads_shows_the_first_fifty_and_pages_through_all(
    logged_in, admin, stages
):
    count = 130
    content = "\r\n".join(["Название"] + [f"Лид {n}" for n in range(1, count + 1)])
    response = upload(logged_in, content.encode("utf-8"))
    job_id = job_of(response)
    logged_in.post(response.headers["Location"], data={"column_0": "title"})
    job_url = f"/settings/import/{job_id}"

    page = ImportPage(logged_in.get(job_url).text)
    assert len(page.leads) == changes.SHOWN
    assert page.changes()[0] == ("#1 Лид 1", [("New lead, at the stage", "Cold")])
    assert "The first 50 of 130 leads." in logged_in.get(job_url).text
    assert page.links["See all 130 leads"] == f"{job_url}/changes"
    # The job's state holds those fifty, not every lead.
    state = (jobs.root() / job_id / "state.json").read_text()
    assert "Лид 51" not in state and "Лид 50" in state

    page = ImportPage(logged_in.get(f"{job_url}/changes").text)
    assert "Leads 1–100 of 130" in page.headings
    assert [lead for lead, _lines in page.leads] == [f"#{n} Лид {n}" for n in range(1, 101)]
    assert page.links["Next page"] == f"{job_url}/changes?page=2"
    assert "Previous page" not in page.links

    page = ImportPage(logged_in.get(f"{job_url}/changes?page=2").text)
    assert "Leads 101–130 of 130" in page.headings
    assert [lead for lead, _lines in page.leads] == [f"#{n} Лид {n}" for n in range(101, 131)]
    assert page.links["Previous page"] == f"{job_url}/changes?page=1"
    assert "Next page" not in page.links

    # Past the last page, the last page; nonsense, the first.
    response = logged_in.get(f"{job_url}/changes?page=9")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{job_url}/changes?page=2"
    assert "Leads 1–100 of 130" in logged_in.get(f"{job_url}/changes?page=-1").text

    # Once imported, the list (with people's details in it) is gone.
    logged_in.post(f"{job_url}/import", data={})
    assert count_of_leads() == count
    assert not (jobs.root() / job_id / engine.CHANGES_FILE).exists()
    response = logged_in.get(f"{job_url}/changes")
    assert response.status_code == 303 and response.headers["Location"] == job_url


def count_of_leads():
    return count(Lead)


def warnings_of(response):
    return ImportPage(response.text).warnings


NOTES_SHEET = "\r\n".join(
    [
        "Клиент;Дата;Что сказали;Итог;Разное;Город",
        "Acme;02.01.2026;Обсудили смету;Ждут КП;Просили перезвонить после праздников;Москва",
        "Acme;03.01.2026;Прислали КП;Думают;;Москва",
    ]
).encode("utf-8-sig")


def test_columns_of_notes_left_out_are_warned_about(logged_in, admin, stages):
    factories.lead(title="Acme")
    response = upload(logged_in, NOTES_SHEET, kind="activities")
    columns_url = response.headers["Location"]
    job_id = job_of(response)
    # As guessed: "Что сказали" is what was said; "Итог", and "Разное" with its sentences,
    # are not imported. "Город" holds no notes.
    page = logged_in.get(columns_url)
    assert warnings_of(page) == [
        f"Column {letter}, “{header}”, looks like notes too and is not imported: only one "
        "column can be “What was said”. To keep both, join them in the sheet."
        for letter, header in (("D", "Итог"), ("E", "Разное"))
    ]
    assert 'id="column-warnings" role="status"' in page.text

    # Changing a column asks again: the fragment of warnings, for the columns as now chosen.
    chosen = {"column_0": "lead_title", "column_1": "occurred_at", "column_2": ""}
    fragment = logged_in.post(f"{columns_url}/warnings", data=chosen, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert warnings_of(fragment) == [
        f"Column {letter}, “{header}”, looks like what was said and is not imported: choose "
        "“What was said” for it, or these notes are left behind."
        for letter, header in (("C", "Что сказали"), ("D", "Итог"), ("E", "Разное"))
    ]
    fragment = logged_in.post(
        f"{columns_url}/warnings", data=chosen | {"column_3": "body"}, headers=HTMX
    )
    assert [warning.split(",")[0] for warning in warnings_of(fragment)] == ["Column C", "Column E"]
    # Without scripts nobody asks for the fragment: the address leads back to the page.
    response = logged_in.post(f"{columns_url}/warnings", data=chosen)
    assert response.status_code == 303 and response.headers["Location"] == columns_url

    # A warning, not a refusal: the check runs, and its report says it again.
    response = logged_in.post(columns_url, data=chosen)
    assert response.status_code == 303
    report_page = logged_in.get(f"/settings/import/{job_id}")
    assert len(warnings_of(report_page)) == 3
    assert '<dd id="import-created">2</dd>' in report_page.text


def test_notes_on_the_leads_sheet_are_warned_about(logged_in, admin, stages):
    content = "Название;Комментарий;ИНН\r\nAcme;Хотят скидку;7701234567\r\n".encode("cp1251")
    response = upload(logged_in, content)
    columns_url = response.headers["Location"]
    # Kept as a new field, as guessed: nothing to warn about.
    assert warnings_of(logged_in.get(columns_url)) == []
    chosen = {"column_0": "title", "column_1": "", "column_2": "new:text"}
    fragment = logged_in.post(f"{columns_url}/warnings", data=chosen, headers=HTMX)
    assert warnings_of(fragment) == [
        "Column B, “Комментарий”, looks like notes and is not imported. To keep them, make a "
        "new field of it, or upload this file again as activities, with this column as “What "
        "was said”."
    ]


def test_the_russian_path_reads_in_russian(client, auth, russian, tmp_path):
    """A Russian team's contact log: guessed, warned about and listed lead by lead in Russian."""
    auth.login(russian.email)
    leads_file, _activities = founding_sheets(tmp_path)
    load("leads", leads_file, tmp_path, owner_id=russian.id, zone="Europe/Moscow")
    content = "\r\n".join(
        [
            "Проект;Что сказали;Дата;Статус;Тип;Итог",
            "ООО «Ромашка»;Первый звонок;28.10.2026 10:00;Интересуется;Звонок в WhatsApp;Ок",
            "ООО «Ромашка»;Запрос на оценку;30.10.2026;Запросили оценку;Звонок;Ок",
            "ИП Сидоров;Просили перезвонить;02.11.2026;Холодный;;",
        ]
    ).encode("cp1251")
    response = upload(client, content, kind="activities")
    columns_url = response.headers["Location"]
    page = client.get(columns_url)
    assert "Столбец F: «Итог»" in page.text
    assert warnings_of(page) == [
        "Столбец F, «Итог», похож на заметки, но не импортируется: «О чём говорили» может "
        "быть только один столбец. Чтобы сохранить оба, объедините их в таблице."
    ]
    client.post(
        columns_url,
        data={
            "column_0": "lead_title",
            "column_1": "body",
            "column_2": "occurred_at",
            "column_3": "status",
            "column_4": "kind",
            "column_5": "",
        },
    )
    page = ImportPage(client.get(f"/settings/import/{job_of(response)}").text)
    romashka, sidorov = lead_by_title("ООО «Ромашка»"), lead_by_title("ИП Сидоров")
    assert page.changes() == [
        (
            f"#{romashka.number} ООО «Ромашка»",
            [
                ("Этап", "Холодный → Интересуется → Запросили оценку"),
                ("Добавлено контактов", "2"),
            ],
        ),
        (f"#{sidorov.number} ИП Сидоров", [("Добавлено контактов", "1")]),
    ]
    assert page.kinds == (
        "Типы контактов, которых нет в CRM, будут записаны как «Звонок» — тип по умолчанию: "
        "Звонок в WhatsApp."
    )
