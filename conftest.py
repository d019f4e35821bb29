# The loopback Hub must be configured before anything imports huggingface_hub.
pytest_plugins = ["zoo_core.testing.pytest_plugin"]
