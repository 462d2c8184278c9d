"""Training on several machines: two `champy train` workers on 127.0.0.1 train one model together."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from test_training import SPECIES, small_dataset  # noqa: F401  (the 3 x 16 real photos fixture)

from champy.models.card import read_card
from champy.models.storage import load_keras_model

WORKER_TIMEOUT_S = 420


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def worker_env(ports: list[int], index: int) -> dict:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "-1",
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
    }


def train_command(data, out, run_dir, mode="full") -> list[str]:
    return [
        sys.executable,
        "-m",
        "champy",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--run-dir",
        str(run_dir),
        "--mode",
        mode,
        "--input-size",
        "96",
        "--min-per-class",
        "5",
        "--no-other-class",
        "--batch-size",
        "8",
        "--head-epochs",
        "1",
        "--finetune-epochs",
        "1",
    ]


def run_workers(command: list[str], count: int, logs) -> list[subprocess.CompletedProcess]:
    """Start `count` workers of one cluster on 127.0.0.1 and wait for all of them (killed past the timeout).

    Their output goes to files under `logs`: a worker blocked on a full pipe would stall the whole cluster.
    """
    ports = free_ports(count)
    logs.mkdir()
    workers = []
    for index in range(count):
        with open(logs / f"{index}.out", "w") as stdout, open(logs / f"{index}.err", "w") as stderr:
            workers.append(subprocess.Popen(command, env=worker_env(ports, index), stdout=stdout, stderr=stderr))
    try:
        for worker in workers:
            worker.wait(timeout=WORKER_TIMEOUT_S)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return [
        subprocess.CompletedProcess(
            command, worker.returncode, (logs / f"{index}.out").read_text(), (logs / f"{index}.err").read_text()
        )
        for index, worker in enumerate(workers)
    ]


@pytest.mark.slow
def test_two_local_workers_train_one_model_and_only_the_chief_writes_the_outputs(small_dataset, tmp_path):  # noqa: F811
    project = tmp_path / "project"
    out, run_dir = project / "tiny.h5", project / "run"
    chief, worker = run_workers(train_command(small_dataset, out, run_dir), 2, tmp_path / "logs")
    assert chief.returncode == 0, chief.stderr[-3000:]
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert "CollectiveAllReduceStrategy on 2 replica(s)" in chief.stderr
    assert f"saved {out} and" in chief.stdout

    # The chief's files are where the command said; the other worker kept to its own folder.
    worker_dir = run_dir / "worker1"
    assert f"saved {worker_dir / out.name} and" in worker.stdout
    chief_model, worker_model = load_keras_model(out), load_keras_model(worker_dir / out.name)
    chief_card = read_card(out.with_suffix(".json"), num_outputs=int(chief_model.output_shape[-1]))
    worker_card = read_card(worker_dir / "tiny.json", num_outputs=int(worker_model.output_shape[-1]))
    assert [label["name"] for label in chief_card["labels"]] == [s.replace("_", " ") for s in SPECIES]
    assert chief_card["training"]["mode"] == "full"
    assert chief_card["training"]["config"]["run_dir"] == str(run_dir)
    assert worker_card["training"]["config"]["run_dir"] == str(worker_dir)
    for folder in (run_dir, worker_dir):
        assert (folder / "phase1.done").is_file() and (folder / "phase2.done").is_file()
    assert sorted(path.name for path in project.iterdir()) == ["run", "tiny.h5", "tiny.json"]

    # Synchronous training: both workers saw the same averaged metrics and hold the very same weights.
    assert chief_card["training"]["history"] == worker_card["training"]["history"]
    assert {row["phase"] for row in chief_card["training"]["history"]} == {1, 2}
    x = np.random.default_rng(0).uniform(0, 255, (4, 96, 96, 3)).astype("float32")
    np.testing.assert_array_equal(chief_model.predict(x, verbose=0), worker_model.predict(x, verbose=0))


def test_cached_mode_is_refused_on_a_cluster(small_dataset, tmp_path):  # noqa: F811
    command = train_command(small_dataset, tmp_path / "m.h5", tmp_path / "run", mode="cached")
    result = subprocess.run(command, env=worker_env(free_ports(2), 0), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "champy: error: the cached CPU fast path runs on one machine; use --mode full with TF_CONFIG"
    )
    assert not (tmp_path / "run").exists()
