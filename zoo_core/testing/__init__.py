"""Test helpers for wzoo and its plugins.

- `check_plugin(name, tmp_path)` / `check_model(name, tmp_path)`: the contract kit every
  plugin's tests call (build, encode every tower from its declared fields, run every head, save, reload
  bit-identically, card YAML parses).
- `zoo_core.testing.pytest_plugin` (with the test extra, `pip install 'wzoo[test]'`): a
  loopback Hugging Face Hub for tests (`pytest_plugins = ["zoo_core.testing.pytest_plugin"]`
  in a conftest.py). Neither it nor the server is imported by anything outside tests.
"""

from .contract import ContractReport, check_model, check_plugin, sample_batch, sample_input

__all__ = ["ContractReport", "check_model", "check_plugin", "sample_batch", "sample_input"]
