"""A plugin that adds a task of its own, `faketask/parity`."""

from zoo_core import hookimpl


@hookimpl
def register_tasks(register):
    register("faketask/parity", "zoo_core.tasks:LOS", description="a plugin task (scored like los)")
