"""`flask --app crm import leads|activities FILE`: the import from a shell."""

from datetime import datetime

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Activity, CustomField, Lead, Stage
from tests import factories


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


LEADS = (
    "№;Название;Телефон;Сумма\r\n1;ООО Ромашка;+7 999 123-45-67;1 250 000,50\r\n2;ИП Сидоров;;\r\n"
)
ACTIVITIES = (
    "Проект\tДата\tСодержание\tСтатус\r\n"
    "ООО Ромашка\t28.11.2025 10:00\tПозвонили\tInterested\r\n"
    "ИП Сидоров\t29.11.2025\tНаписали\tНа паузе\r\n"
)


def leads_count():
    return db.session.scalar(select(func.count()).select_from(Lead))


def test_the_command_imports_both_sheets_with_progress(runner, admin, stages, tmp_path):
    leads = write(tmp_path, "leads.csv", LEADS, "cp1251")
    result = runner.invoke(args=["import", "leads", leads, "--owner", admin.email])
    assert result.exit_code == 0, result.output
    assert "Columns: № → number, Название → title, Телефон → phone, Сумма → value" in result.output
    assert "reading: 2 rows, 100%" in result.output
    assert "Imported: 2 rows: 2 new, 0 updated, 0 skipped, 0 with errors" in result.output
    assert leads_count() == 2
    assert db.session.scalar(select(Lead.owner_id).where(Lead.number == 1)) == admin.id

    activities = write(tmp_path, "activities.tsv", ACTIVITIES, "utf-8-sig")
    result = runner.invoke(args=["import", "activities", activities, "--dry-run"])
    assert result.exit_code == 1
    assert "No stage is called: На паузе." in result.output
    assert '--status "STATUS=STAGE", or add --create-stages' in result.output

    result = runner.invoke(
        args=["import", "activities", activities, "--create-stages", "--timezone", "Europe/Moscow"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported: 2 rows: 2 new, 0 updated, 0 skipped, 0 with errors, 2 stage changes" in (
        result.output
    )
    assert db.session.scalar(select(Stage).where(Stage.name == "На паузе")) is not None
    first = db.session.scalar(select(Activity).order_by(Activity.occurred_at))
    assert first.occurred_at == datetime(2025, 11, 28, 7, 0)

    # Again: nothing new.
    result = runner.invoke(
        args=["import", "activities", activities, "--create-stages", "--timezone", "Europe/Moscow"]
    )
    assert result.exit_code == 0, result.output
    assert "2 skipped" in result.output


def test_a_dry_run_changes_nothing(runner, admin, stages, tmp_path):
    leads = write(tmp_path, "leads.csv", LEADS)
    result = runner.invoke(args=["import", "leads", leads, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would import: 2 rows: 2 new" in result.output
    assert "  #1 ООО Ромашка: new, at Cold\n  #2 ИП Сидоров: new, at Cold\n" in result.output
    assert leads_count() == 0


def test_a_dry_run_says_what_it_would_do_to_each_lead(runner, admin, stages, tmp_path):
    runner.invoke(args=["import", "leads", write(tmp_path, "leads.csv", LEADS, "cp1251")])
    changed = LEADS.replace("+7 999 123-45-67", "+7 999 123-45-68").replace(";;", ";;;Interested")
    changed = changed.replace("Сумма", "Сумма;Статус")
    result = runner.invoke(
        args=["import", "leads", write(tmp_path, "changed.csv", changed), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "  #1 ООО Ромашка: phone +7 999 123-45-67 → +7 999 123-45-68\n"
        "  #2 ИП Сидоров: stage Cold → Interested\n"
    ) in result.output
    contacts = "Проект;Дата;Что сказали\r\n" + "".join(
        f"ООО Ромашка;{day:02d}.11.2025;Звонок {day}\r\n" for day in range(1, 4)
    )
    result = runner.invoke(
        args=["import", "activities", write(tmp_path, "c.csv", contacts), "--dry-run"]
    )
    assert "  #1 ООО Ромашка: 3 contacts added\n" in result.output


def test_rows_with_errors_stop_the_import_unless_skipped(runner, admin, stages, tmp_path):
    path = write(tmp_path, "leads.csv", "Title,Value\nAcme,1\nBeta,a lot\n")
    result = runner.invoke(args=["import", "leads", path])
    assert result.exit_code == 1
    assert "line 3: “Value”: “a lot” is not an amount" in result.output
    assert "--skip-errors" in result.output
    assert leads_count() == 0
    result = runner.invoke(args=["import", "leads", path, "--skip-errors"])
    assert result.exit_code == 0, result.output
    assert leads_count() == 1


def test_columns_can_be_mapped_by_hand(runner, admin, stages, tmp_path):
    path = write(tmp_path, "leads.csv", "Firma,Kontakt,Misc\nAcme,Ann,x\n")
    result = runner.invoke(
        args=["import", "leads", path, "--map", "Firma=title", "--map", "B=contact_name"]
    )
    assert result.exit_code == 0, result.output
    lead = db.session.scalar(select(Lead))
    assert (lead.title, lead.contact_name) == ("Acme", "Ann")
    bad = runner.invoke(args=["import", "leads", path, "--map", "Nope=title"])
    assert bad.exit_code == 2 and "no column 'Nope'" in bad.output
    bad = runner.invoke(args=["import", "leads", path, "--map", "Firma=colour"])
    assert bad.exit_code == 2 and "no field 'colour'" in bad.output


def test_ambiguous_dates_need_an_answer(runner, admin, stages, tmp_path):
    runner.invoke(args=["import", "leads", write(tmp_path, "l.csv", "Title\nAcme\n")])
    path = write(tmp_path, "a.csv", "Lead,Date\nAcme,03/04/2025\n")
    result = runner.invoke(args=["import", "activities", path])
    assert result.exit_code == 1
    assert "add --dates day-first or month-first" in result.output
    result = runner.invoke(args=["import", "activities", path, "--dates", "month-first"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Activity.occurred_at)) == datetime(2025, 3, 4)


def test_a_file_that_cannot_be_read(runner, admin, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    result = runner.invoke(args=["import", "leads", str(path)])
    assert result.exit_code == 1
    assert "Old Excel files (.xls) cannot be read" in result.output


# The team's own fields

CLIENTS = (
    "Название;ИНН;Город;Сотрудников;Заметка\r\n"
    "ООО Ромашка;0105012345;Казань;120;\r\n"
    "ИП Сидоров;500100732259;Москва;3;\r\n"
)


def test_new_fields_are_made_of_the_columns_no_field_reads(runner, admin, stages, tmp_path):
    path = write(tmp_path, "clients.csv", CLIENTS, "cp1251")
    result = runner.invoke(args=["import", "leads", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        "Not imported: ИНН, Город, Сотрудников, Заметка (--new-fields makes fields of them)."
    ) in result.output

    result = runner.invoke(args=["import", "leads", path, "--new-fields", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "New fields: ИНН (text), Город (text), Сотрудников (number)" in result.output
    assert "  #1 ООО Ромашка: new, at Cold; ИНН — → 0105012345; Город — → Казань;" in result.output
    assert db.session.scalar(select(func.count()).select_from(CustomField)) == 0

    result = runner.invoke(args=["import", "leads", path, "--new-fields"])
    assert result.exit_code == 0, result.output
    assert "Fields created: ИНН (text), Город (text), Сотрудников (number)" in result.output
    lead = db.session.scalar(select(Lead).where(Lead.title == "ООО Ромашка"))
    assert lead.fields == {"inn": "0105012345", "gorod": "Казань", "sotrudnikov": 120}
    # The empty column made no field.
    keys = db.session.scalars(select(CustomField.key).order_by(CustomField.id)).all()
    assert keys == ["inn", "gorod", "sotrudnikov"]


def test_a_column_is_read_into_a_field_named_by_hand(runner, admin, stages, tmp_path):
    factories.field("Tax ID", "text")
    factories.field("Headcount", "number")
    path = write(tmp_path, "clients.csv", CLIENTS, "cp1251")
    result = runner.invoke(
        args=["import", "leads", path, "--field", "ИНН=tax_id", "--field", "D=headcount"]
    )
    assert result.exit_code == 0, result.output
    assert "ИНН → fields.tax_id, Сотрудников → fields.headcount" in result.output
    assert "Not imported: Город, Заметка" in result.output
    lead = db.session.scalar(select(Lead).where(Lead.title == "ИП Сидоров"))
    assert lead.fields == {"tax_id": "500100732259", "headcount": 3}

    bad = runner.invoke(args=["import", "leads", path, "--field", "ИНН=inn"])
    assert bad.exit_code == 2
    assert "no field 'inn' of the team's (their keys: headcount, tax_id)" in bad.output
    bad = runner.invoke(args=["import", "leads", path, "--field", "Нет такого=tax_id"])
    assert bad.exit_code == 2 and "no column 'Нет такого'" in bad.output
    bad = runner.invoke(args=["import", "activities", path, "--new-fields"])
    assert bad.exit_code == 2 and "--field and --new-fields are for a leads sheet." in bad.output


def test_a_value_a_field_cannot_hold_stops_the_command(runner, admin, stages, tmp_path):
    factories.field("Headcount", "number")
    path = write(tmp_path, "c.csv", "Title,Headcount\nAcme,12\nBeta,a dozen\n")
    result = runner.invoke(args=["import", "leads", path])
    assert result.exit_code == 1
    assert "line 3: “Headcount”: “a dozen” is not an amount" in result.output
    assert leads_count() == 0
