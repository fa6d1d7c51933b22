"""What the people of each role are called together, for lists grouped by role.

One person's role is named where it is picked (`role_choices` in crm/settings/forms.py); the
group names here are the plural of those same words, in both languages.
Salespeople come first: they are most of a team, and the ones a manager looks for.
"""

from flask_babel import gettext as _

from crm.models import Role

IN_ORDER = (Role.SALESPERSON, Role.MANAGER, Role.ADMIN)


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
