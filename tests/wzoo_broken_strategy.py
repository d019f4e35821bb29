"""A plugin whose strategy cannot be imported: the bench must go on without it."""

from zoo_core import hookimpl


@hookimpl
def register_strategies(register):
    register("broken/frozen-head", "wzoo_no_such_module.strategies:FrozenHead", description="never loads")
