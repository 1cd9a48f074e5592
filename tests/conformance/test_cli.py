"""The command line: `vane import statsig FILE` and `vane pulse NAME` on a data directory.

Both build the server's services without serving; they must run and exit cleanly."""
import json
import subprocess

from vane_server import binary_path


def _vane(*args, cwd):
    return subprocess.run([str(binary_path()), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_import_statsig_file_then_serve_it(tmp_path):
    dcs = {"has_updates": True, "time": 1, "layer_configs": [], "dynamic_configs": [],
           "feature_gates": [{"name": "cli_gate", "type": "feature_gate", "entity": "feature_gate", "salt": "s",
                              "enabled": True, "defaultValue": False, "idType": "userID",
                              "rules": [{"id": "r", "salt": "r", "passPercentage": 100, "returnValue": True,
                                         "idType": "userID", "conditions": [{"type": "public"}]}]},
                             {"name": "cli_odd", "type": "feature_gate", "entity": "feature_gate", "salt": "s",
                              "enabled": True, "defaultValue": False, "rules": [{"id": "r", "passPercentage": 100,
                              "conditions": [{"type": "moon_phase", "operator": "eq", "targetValue": 1}]}]}]}
    doc = tmp_path / "dcs.json"
    doc.write_text(json.dumps(dcs))
    r = _vane("import", "statsig", "--data-dir", str(tmp_path / "data"), str(doc), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "imported 1 gates: cli_gate" in r.stdout
    assert "skipped cli_odd" in r.stdout and "moon_phase" in r.stdout


def test_pulse_prints_a_table(tmp_path):
    r = _vane("pulse", "--data-dir", str(tmp_path / "data"), "no_such_experiment", cwd=tmp_path)
    assert r.returncode != 0
    assert "no_such_experiment" in (r.stdout + r.stderr)
    assert "Fatal error" not in r.stderr and "crashed" not in r.stderr


def test_pulse_reads_a_holdout(tmp_path):
    dcs = {"has_updates": True, "time": 1, "layer_configs": [], "dynamic_configs": [],
           "feature_gates": [{"name": "cli_holdout", "type": "feature_gate", "entity": "holdout", "salt": "s",
                              "enabled": True, "defaultValue": False, "idType": "userID",
                              "rules": [{"id": "r", "salt": "r", "passPercentage": 10, "returnValue": True,
                                         "idType": "userID", "conditions": [{"type": "public"}]}]}]}
    doc = tmp_path / "dcs.json"
    doc.write_text(json.dumps(dcs))
    data = str(tmp_path / "data")
    r = _vane("import", "statsig", "--data-dir", data, str(doc), cwd=tmp_path)
    assert r.returncode == 0 and "imported 1 holdouts: cli_holdout" in r.stdout, (r.stdout, r.stderr[-2000:])
    r = _vane("pulse", "--data-dir", data, "--holdout", "cli_holdout", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "control: held out" in r.stdout and "units: held out 0, exposed 0" in r.stdout, r.stdout
    r = _vane("pulse", "--data-dir", data, "--holdout", "--gate", "cli_holdout", cwd=tmp_path)
    assert r.returncode != 0 and "exclude each other" in r.stderr, r.stderr[-500:]
    r = _vane("pulse", "--data-dir", data, "--holdout", "cli_holdout", "--dimension", "country", cwd=tmp_path)
    assert r.returncode == 0 and "slice comparisons" in r.stdout, (r.stdout, r.stderr[-2000:])
    r = _vane("pulse", "--data-dir", data, "--holdout", "cli_holdout", "--dimension", 'a"b', cwd=tmp_path)
    assert r.returncode != 0 and "dimension" in r.stderr and "Fatal" not in r.stderr, r.stderr[-500:]
