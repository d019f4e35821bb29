from zoo_core.testing import check_plugin


def test_contract_kit(tmp_path):
    reports = {r.model: r for r in check_plugin("lvm4csi", tmp_path)}
    assert reports["lvm4csi/har-efficientnet-lite0"].output_shapes["activity"] == (3, 7)
    assert reports["lvm4csi/loc-efficientnet-lite0"].output_shapes["features"] == (3, 1280)  # K; power is a field
    assert reports["lvm4csi/loc-convfeatext-csi"].output_shapes["positioning"] == (3, 2)
