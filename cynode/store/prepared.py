"""Hot selects compiled to SQL once per database.

peewee rebuilds the SQL text on every execution (~100 µs a query here, most of what a cheap authenticated
request costs). A Prepared query keeps the text and binds fresh values into it.
"""

_MARK = "\x00cynode-param-{}\x00"


class Prepared:
    """`build(*markers)` returns the peewee select with a marker where each runtime value goes."""

    def __init__(self, db, build, arity: int):
        markers = [_MARK.format(i) for i in range(arity)]
        query = build(*markers)
        self.sql, params = db.get_sql_context().sql(query).query()
        self.slots = [markers.index(p) if isinstance(p, str) and p in markers else None for p in params]
        self.fixed = params
        self.fields = list(query._returning)  # pylint: disable=protected-access  # the selected columns, in order
        self.db = db

    def rows(self, *values) -> list[dict]:
        """Run with `values` in marker order; each row as {(Model, field name): value}, converted as peewee would."""
        params = [self.fixed[n] if slot is None else values[slot] for n, slot in enumerate(self.slots)]
        cursor = self.db.execute_sql(self.sql, params)
        return [{(field.model, field.name): field.python_value(value) for field, value in zip(self.fields, row)}
                for row in cursor]
