"""Builds the serving benchmark's model: a 100-tree gradient-boosted regressor trained with scikit-learn and
converted to ONNX (one ai.onnx.ml TreeEnsembleRegressor node) by this script, without skl2onnx.

    /usr/bin/python3 scripts/make-gbt-fixture.py

Needs Debian's python3-sklearn and python3-onnx. Writes test/fixtures/models/gbt100.onnx and
gbt100-reference.json (200 input rows and scikit-learn's predictions for them). bench/fastapi_server.py imports
`train()` from here so the baseline serves the very same model.
"""

import json
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.ensemble import GradientBoostingRegressor

FEATURES = 8
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "models"


def dataset(rows=20000, seed=0):
    """Deterministic tabular data with a nonlinear target; float32 like the served inputs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] - 0.3 * np.abs(x[:, 3]) + 0.1 * x[:, 4] ** 2
    y = y + 0.05 * rng.normal(size=rows)
    return x, y


def train():
    x, y = dataset()
    model = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0)
    model.fit(x, y)
    return model


def float32_at_most(value):
    """The largest float32 <= value: for float32 inputs, `x <= t32` then holds exactly when `x <= value`."""
    t = np.float32(value)
    if float(t) > value:
        t = np.nextafter(t, np.float32(-np.inf))
    return float(t)


def to_onnx(model):
    nodes = {k: [] for k in ["treeids", "nodeids", "featureids", "values", "modes", "true", "false"]}
    targets = {k: [] for k in ["treeids", "nodeids", "weights"]}
    for tree_id, estimator in enumerate(model.estimators_[:, 0]):
        tree = estimator.tree_
        for node in range(tree.node_count):
            leaf = tree.children_left[node] == -1
            nodes["treeids"].append(tree_id)
            nodes["nodeids"].append(node)
            nodes["featureids"].append(0 if leaf else int(tree.feature[node]))
            nodes["values"].append(0.0 if leaf else float32_at_most(tree.threshold[node]))
            nodes["modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            nodes["true"].append(0 if leaf else int(tree.children_left[node]))
            nodes["false"].append(0 if leaf else int(tree.children_right[node]))
            if leaf:
                targets["treeids"].append(tree_id)
                targets["nodeids"].append(node)
                targets["weights"].append(float(tree.value[node][0][0]) * model.learning_rate)
    # init_ is the fitted DummyRegressor (training-target mean) the boosting stages start from.
    base = float(model.init_.predict(np.zeros((1, FEATURES), dtype=np.float32))[0])
    ensemble = helper.make_node(
        "TreeEnsembleRegressor",
        ["x"],
        ["variable"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function="SUM",
        post_transform="NONE",
        nodes_treeids=nodes["treeids"],
        nodes_nodeids=nodes["nodeids"],
        nodes_featureids=nodes["featureids"],
        nodes_values=nodes["values"],
        nodes_modes=nodes["modes"],
        nodes_truenodeids=nodes["true"],
        nodes_falsenodeids=nodes["false"],
        nodes_missing_value_tracks_true=[0] * len(nodes["treeids"]),
        target_treeids=targets["treeids"],
        target_nodeids=targets["nodeids"],
        target_ids=[0] * len(targets["treeids"]),
        target_weights=targets["weights"],
        base_values=[base],
    )
    graph = helper.make_graph(
        [ensemble],
        "gbt100",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
    )
    onnx_model = helper.make_model(
        graph,
        producer_name="slipway-fixtures",
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model


def main():
    model = train()
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(to_onnx(model), str(OUT / "gbt100.onnx"))
    x, _ = dataset(rows=200, seed=1)
    reference = {"inputs": x.astype(float).tolist(), "predictions": model.predict(x).tolist()}
    (OUT / "gbt100-reference.json").write_text(json.dumps(reference))
    print(f"wrote {OUT / 'gbt100.onnx'} and gbt100-reference.json")


if __name__ == "__main__":
    main()
