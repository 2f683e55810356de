"""Hot queries compiled to SQL once per database.

peewee rebuilds the SQL text on every execution (~100 µs a query here, most of what a cheap authenticated
request costs, and ~18% of the dispatcher's Python time on the job claim and finish writes). A Prepared query
keeps the text peewee built for this database and binds fresh values into it.
"""

_MARK = "\x00cynode-param-{}\x00"


class Prepared:
    """`build(*markers)` returns the peewee query (a select, or an update/insert/delete, with or without
    RETURNING) with a marker where each runtime value goes. Values are bound as given: pass what the field's
    db_value would (str, int, datetime, None), not model instances."""

    def __init__(self, db, build, arity: int):
        markers = [_MARK.format(i) for i in range(arity)]
        query = build(*markers)
        self.sql, params = db.get_sql_context().sql(query).query()
        self.slots = [markers.index(p) if isinstance(p, str) and p in markers else None for p in params]
        if any(marker not in params for marker in markers):
            raise ValueError(f"a marker did not reach the SQL as a parameter: {self.sql}")
        self.fixed = params
        # the selected (or RETURNING) columns, in order; a write without RETURNING has none
        self.fields = list(query._returning or ())  # pylint: disable=protected-access
        self.db = db

    def _execute(self, values):
        params = [self.fixed[n] if slot is None else values[slot] for n, slot in enumerate(self.slots)]
        return self.db.execute_sql(self.sql, params)

    def rows(self, *values) -> list[dict]:
        """Run with `values` in marker order; each row as {(Model, field name): value}, converted as peewee would."""
        return [{(field.model, field.name): field.python_value(value) for field, value in zip(self.fields, row)}
                for row in self._execute(values)]

    def count(self, *values) -> int:
        """Run a write with `values` in marker order; how many rows it changed."""
        return self.db.rows_affected(self._execute(values))
