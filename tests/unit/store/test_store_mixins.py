"""The Store is assembled from one queries mixin per area; a name two of them define would silently resolve to
whichever comes first in the MRO (a preferences upsert once ran the nodes' row lock and looped)."""

from collections import defaultdict

from cynode.store.store import Store


def test_no_two_query_mixins_define_the_same_name():
    owners = defaultdict(list)
    for mixin in Store.__mro__:
        if mixin is not object:
            for name in vars(mixin):
                if not name.startswith("__"):
                    owners[name].append(mixin.__name__)
    assert {name: classes for name, classes in owners.items() if len(classes) > 1} == {}
