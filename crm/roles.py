"""What each role is called: one person's role, and the people of a role together (the plural
of the same words, in both languages), so every page names a role alike.

Salespeople come first: they are most of a team, and the ones a manager looks for.
"""

from flask_babel import gettext as _

from crm.models import Role

IN_ORDER = (Role.SALESPERSON, Role.MANAGER, Role.ADMIN)


def role_name(role):
    """What one person of `role` is called."""
    names = {
        Role.SALESPERSON: _("Salesperson"),
        Role.MANAGER: _("Manager"),
        Role.ADMIN: _("Administrator"),
    }
    return names[role]


def role_names():
    """{role's value: its name}, in the order roles are offered (plain strings for WTForms)."""
    return {role.value: role_name(role) for role in IN_ORDER}


def group_name(role):
    """What the people of `role` are called together."""
    names = {
        Role.SALESPERSON: _("Salespeople"),
        Role.MANAGER: _("Managers"),
        Role.ADMIN: _("Administrators"),
    }
    return names[role]


def by_role(people):
    """[(group name, people of that role)] for the roles anyone in `people` has, in order."""
    groups = [(role, [person for person in people if person.role == role]) for role in IN_ORDER]
    return [(group_name(role), members) for role, members in groups if members]
