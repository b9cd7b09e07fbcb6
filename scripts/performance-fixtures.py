#!/usr/bin/env python3
"""Generate the performance-metric fixtures: deterministic labels and scores plus scikit-learn's answers.

Writes src/monitoring/stats/fixtures/performance-expected.json (committed, so CI needs no Python).
Run from the repository root with Debian's scikit-learn:
    apt-get install -y python3-sklearn && /usr/bin/python3 scripts/performance-fixtures.py
"""

import json
import os

import numpy as np
from sklearn import metrics

OUT = os.path.join(os.path.dirname(__file__), '..', 'src', 'monitoring', 'stats', 'fixtures',
                   'performance-expected.json')
rng = np.random.default_rng(20261123)


def classification_case(name, labels, scores, threshold=0.5):
    labels = [int(v) for v in labels]
    scores = [float(v) for v in np.round(scores, 4)]
    predicted = [1 if s >= threshold else 0 for s in scores]
    return {
        'name': name, 'labels': labels, 'scores': scores, 'threshold': threshold,
        'accuracy': metrics.accuracy_score(labels, predicted),
        'precision': metrics.precision_score(labels, predicted, zero_division=0),
        'recall': metrics.recall_score(labels, predicted, zero_division=0),
        'f1': metrics.f1_score(labels, predicted, zero_division=0),
        'roc_auc': metrics.roc_auc_score(labels, scores),
        'log_loss': metrics.log_loss(labels, scores, labels=[0, 1]),
    }


def regression_case(name, actual, predicted):
    actual = [float(v) for v in np.round(actual, 4)]
    predicted = [float(v) for v in np.round(predicted, 4)]
    return {
        'name': name, 'actual': actual, 'predicted': predicted,
        'mae': metrics.mean_absolute_error(actual, predicted),
        'rmse': float(np.sqrt(metrics.mean_squared_error(actual, predicted))),
        'r2': metrics.r2_score(actual, predicted),
    }


y = rng.integers(0, 2, 2000)
informative = np.clip(0.3 * y + rng.normal(0.35, 0.2, 2000), 0, 1)
ties = np.round(rng.uniform(0, 1, 500), 1)
cases = {
    'classification': [
        classification_case('informative', y, informative),
        classification_case('ties and threshold 0.3', rng.integers(0, 2, 500), ties, 0.3),
        classification_case('confident extremes', [0, 0, 1, 1, 1], [0.0, 1.0, 1.0, 0.0, 0.7]),
        classification_case('no positive predictions', [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]),
    ],
    'regression': [
        regression_case('noisy linear', x := rng.normal(10, 5, 1000), 2 * x + rng.normal(0, 3, 1000) - 10),
        regression_case('constant actual', [3.0, 3.0, 3.0], [3.0, 2.0, 4.0]),
    ],
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(cases, f)
    f.write('\n')
print('wrote', OUT)
