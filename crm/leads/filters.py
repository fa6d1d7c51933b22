"""The lead list as its address describes it: search, filters, sort and where the page starts.

The list page, its CSV export and reassigning "every lead the list shows" all read it here.
"""

from flask import url_for

from crm import custom_fields, field_filters
from crm.access import restricted_to
from crm.args import id_arg, text_arg
from crm.leads import queries
from crm.timezones import day_bounds, local_today

OWNER_MINE, OWNER_NOBODY = "me", "none"
# The parameter naming a field shown as a column: `col=gorod&col=inn`.
COLUMN = "col"


class LeadList:
    """The list as the URL describes it: search, filters, sort and where the page starts.

    Everything lives in the query string, so a list can be shared, bookmarked and gone back to.
    """

    def __init__(self, args, user):
        self.user = user
        self.q = text_arg(args.get("q"))
        self.stage_ids = tuple(dict.fromkeys(filter(None, map(id_arg, args.getlist("stage")))))
        self.pipeline_id = id_arg(args.get("pipeline"))
        owner = args.get("owner", "")
        self.owner = owner if owner in (OWNER_MINE, OWNER_NOBODY) or id_arg(owner) else ""
        self.overdue = args.get("overdue") == "1"
        self.no_next_step = args.get("no_next_step") == "1"
        self.archived = args.get("archived") == "1"
        self.args = args
        self.field_filters = field_filters.read(args)
        self.offered_columns = [field for field in custom_fields.active_fields() if field.in_list]
        self.columns = self.read_columns(args)
        sort = args.get("sort")
        self.sort = sort if sort in queries.SORTS else queries.DEFAULT_SORT
        direction = args.get("dir")
        if direction in ("asc", "desc"):
            self.descending = direction == "desc"
        else:
            self.descending = queries.SORTS[self.sort].descending_first
        self.cursor = None
        if "after" in args:
            key = args.get("key")
            if key is not None:
                key = key.replace("\x00", "")[:500]
            self.cursor = queries.read_cursor(self.sort, args.get("after"), key)

    def read_columns(self, args):
        """The team's fields shown as columns: those the address names (`col=gorod`), else
        every field the team offers in the list. `col=` alone names none."""
        if COLUMN not in args:
            return self.offered_columns
        wanted = set(args.getlist(COLUMN))
        return [field for field in self.offered_columns if field.key in wanted]

    def column_params(self):
        if self.columns == self.offered_columns:
            return None
        return [field.key for field in self.columns] or [""]

    def field_sort_name(self, field):
        """The sort by `field`'s column ("f.gorod"), or None when it has none."""
        name = queries.FIELD_SORT + field.key
        return name if queries.field_sort(name) else None

    def field_controls(self):
        return field_filters.controls(self.field_filters, self.args)

    def filters(self):
        owner_id = self.user.id if self.owner == OWNER_MINE else id_arg(self.owner)
        return queries.LeadFilters(
            search=self.q,
            stage_ids=self.stage_ids,
            owner_id=owner_id,
            unassigned=self.owner == OWNER_NOBODY,
            overdue_before=day_bounds(local_today())[0] if self.overdue else None,
            no_next_step=self.no_next_step,
            include_archived=self.archived,
            restricted_to=restricted_to(self.user),
            fields=self.field_filters.filters,
            pipeline_id=self.pipeline_id,
        )

    @property
    def direction(self):
        return "desc" if self.descending else "asc"

    @property
    def filter_count(self):
        """How many filters (beyond the search) narrow the list: shown on the Filters toggle."""
        chosen = (
            *(self.pipeline_id, self.stage_ids, self.owner),
            *(self.overdue, self.no_next_step, self.archived),
        )
        return sum(1 for value in chosen if value) + len(self.field_filters)

    def params(self, **changes):
        """The URL parameters of this list, with `changes`; defaults are left out."""
        params = {
            "q": self.q,
            "pipeline": self.pipeline_id,
            "stage": list(self.stage_ids),
            "owner": self.owner,
            "overdue": "1" if self.overdue else None,
            "no_next_step": "1" if self.no_next_step else None,
            "archived": "1" if self.archived else None,
            **self.field_filters.params(),
            COLUMN: self.column_params(),
            "sort": self.sort,
            "dir": self.direction,
        } | changes
        if params["sort"] == queries.DEFAULT_SORT:
            params["sort"] = None
        default_first = queries.SORTS[params["sort"] or queries.DEFAULT_SORT].descending_first
        if params["dir"] == ("desc" if default_first else "asc"):
            params["dir"] = None
        return {name: value for name, value in params.items() if value not in (None, "", [])}

    def url(self, **changes):
        return url_for("leads.index", **self.params(**changes))

    def sort_url(self, column):
        """Sorted by `column`: the other way round when it already is, else its natural way."""
        if column == self.sort:
            descending = not self.descending
        else:
            descending = queries.SORTS[column].descending_first
        return self.url(sort=column, dir="desc" if descending else "asc")

    def aria_sort(self, column):
        if column != self.sort:
            return None
        return "descending" if self.descending else "ascending"

    def next_url(self, cursor):
        return self.url(**cursor.params())

    def sort_fields(self):
        """The sort as hidden fields, so a new search keeps the order the list is in."""
        params = self.params()
        return {name: params[name] for name in ("sort", "dir") if name in params}
