#!/usr/bin/env python3
"""Generate the drift statistics fixtures: deterministic inputs plus SciPy's answers.

Writes src/monitoring/stats/fixtures/drift-expected.json (committed, so CI needs no Python).
Run from the repository root with a Python that has SciPy and NumPy, e.g. Debian's:
    apt-get install -y python3-scipy python3-numpy && /usr/bin/python3 scripts/drift-fixtures.py
"""

import json
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

OUT = os.path.join(os.path.dirname(__file__), '..', 'src', 'monitoring', 'stats', 'fixtures', 'drift-expected.json')
rng = np.random.default_rng(20240611)


def rounded(a, digits=4):
    return [float(v) for v in np.round(np.asarray(a, dtype=float), digits)]


def ks_case(name, ref, cur):
    ref, cur = rounded(ref), rounded(cur)
    res = stats.ks_2samp(ref, cur)
    return {'name': name, 'reference': ref, 'current': cur, 'statistic': float(res.statistic),
            'pValue': float(res.pvalue)}


ks = [
    ks_case('normal-vs-normal-200', rng.normal(0, 1, 200), rng.normal(0, 1, 200)),
    ks_case('normal-vs-shifted-300-250', rng.normal(0, 1, 300), rng.normal(0.3, 1, 250)),
    ks_case('skewed-lognormal-500-400', rng.lognormal(0, 1, 500), rng.lognormal(0.1, 1.2, 400)),
    ks_case('ties-integers-120-90', rng.integers(0, 6, 120), rng.integers(0, 7, 90)),
    ks_case('small-exact-7-5', rng.normal(0, 1, 7), rng.normal(1, 1, 5)),
    ks_case('small-exact-3-3', [0.1, 0.5, 0.9], [0.2, 0.3, 1.4]),
    ks_case('single-values', [1.0], [2.0]),
    ks_case('identical', [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
    ks_case('constant-both', [5.0] * 20, [5.0] * 30),
    ks_case('exact-large-2000-1500', rng.normal(0, 1, 2000), rng.normal(0.05, 1, 1500)),
    ks_case('asymp-12000-300', rng.normal(0, 1, 12000), rng.normal(0.1, 1, 300)),
    ks_case('asymp-10500-60', rng.normal(0, 1, 10500), rng.normal(0.2, 1, 60)),
    ks_case('asymp-10001-10001', rng.normal(0, 1, 10001), rng.normal(0.02, 1, 10001)),
]

# The Kolmogorov distribution on its own, through every branch of scipy's kstwo.sf.
kolmogorov = []
for n, x in [(5, 0.15), (5, 0.95), (10, 0.05), (10, 0.08), (10, 0.2), (10, 0.4), (10, 0.6), (50, 0.1), (50, 0.2),
             (50, 0.3), (140, 0.05), (140, 0.12), (141, 0.05), (293, 0.03), (293, 0.07), (293, 0.1), (1000, 0.02),
             (1000, 0.05), (1000, 0.7), (5000, 0.01), (5000, 0.02), (5000, 0.0001), (150, 0.005),
             (200000, 0.002)]:
    kolmogorov.append({'n': n, 'x': x, 'sf': float(stats.kstwo.sf(x, n))})


def chi_case(name, ref_counts, cur_counts):
    keys = sorted(set(ref_counts) | set(cur_counts))
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    f_exp = [ref_counts.get(k, 0) * n_cur / n_ref for k in keys]
    f_obs = [cur_counts.get(k, 0) for k in keys]
    res = stats.chisquare(f_obs, f_exp)
    return {'name': name, 'referenceCounts': ref_counts, 'currentCounts': cur_counts,
            'statistic': float(res.statistic), 'pValue': float(res.pvalue)}


chisquare = [
    chi_case('same-shape', {'a': 100, 'b': 200, 'c': 300}, {'a': 52, 'b': 98, 'c': 149}),
    chi_case('shifted', {'a': 500, 'b': 300, 'c': 150, 'd': 50}, {'a': 300, 'b': 300, 'c': 250, 'd': 150}),
    chi_case('missing-in-current', {'x': 40, 'y': 30, 'z': 30}, {'x': 70, 'y': 30}),
    chi_case('two-categories', {'yes': 700, 'no': 300}, {'yes': 640, 'no': 360}),
]

contingency = []
for name, table in [('2x2-yates', [[12, 5], [7, 9]]), ('2x2-large', [[120, 80], [95, 105]]),
                    ('2x3', [[10, 20, 30], [15, 25, 10]]), ('3x4', [[5, 8, 12, 3], [7, 7, 9, 10], [12, 4, 6, 8]])]:
    c = stats.chi2_contingency(table)
    contingency.append({'name': name, 'table': table, 'statistic': float(c[0]), 'pValue': float(c[1]),
                        'degreesOfFreedom': int(c[2])})


def wd_case(name, ref, cur):
    ref, cur = rounded(ref), rounded(cur)
    wd = stats.wasserstein_distance(ref, cur)
    # Evidently's "wasserstein normed": distance over the reference's population std, floored at 0.001.
    norm = max(np.std(ref), 0.001)
    return {'name': name, 'reference': ref, 'current': cur, 'distance': float(wd), 'normed': float(wd / norm)}


wasserstein = [
    wd_case('normal-vs-shifted', rng.normal(0, 1, 400), rng.normal(0.5, 1, 300)),
    wd_case('skewed', rng.exponential(2, 250), rng.exponential(2.5, 350)),
    wd_case('ties', rng.integers(0, 4, 50), rng.integers(1, 5, 80)),
    wd_case('single-values', [1.0], [3.5]),
    wd_case('constant-reference', [2.0] * 10, [2.0, 2.1, 2.2]),
]


def js_case(name, p, q):
    return {'name': name, 'p': p, 'q': q, 'distance': float(distance.jensenshannon(p, q)),
            'distanceBase2': float(distance.jensenshannon(p, q, base=2))}


jensen_shannon = [
    js_case('close', [0.2, 0.3, 0.5], [0.25, 0.25, 0.5]),
    js_case('unnormalised-counts', [10, 20, 30, 40], [40, 30, 20, 10]),
    js_case('empty-bins', [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]),
    js_case('disjoint', [1, 0], [0, 1]),
    js_case('identical', [3, 3, 3], [1, 1, 1]),
]

EPS = 1e-4


def psi_plain(ref_p, cur_p, eps=EPS):
    """PSI written out plainly: empty proportions become eps (as Evidently does), no renormalisation."""
    r = np.where(np.asarray(ref_p, dtype=float) == 0, eps, ref_p)
    c = np.where(np.asarray(cur_p, dtype=float) == 0, eps, cur_p)
    return float(np.sum((r - c) * np.log(r / c)))


psi = []
for name, r, c in [('stable', [0.25, 0.25, 0.25, 0.25], [0.24, 0.26, 0.25, 0.25]),
                   ('shifted', [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]),
                   ('empty-bins', [0.5, 0.5, 0.0], [0.0, 0.6, 0.4])]:
    psi.append({'name': name, 'referenceProportions': r, 'currentProportions': c, 'psi': psi_plain(r, c)})


def binned_case(name, ref, cur, bin_count, pseudo_count=0.5):
    ref, cur = rounded(ref), rounded(cur)
    qs = np.quantile(ref, np.arange(1, bin_count) / bin_count)  # numpy's default linear interpolation
    edges = np.unique(qs)
    ref_counts = np.bincount(np.searchsorted(edges, ref, side='right'), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side='right'), minlength=len(edges) + 1)
    k = len(edges) + 1
    ref_p = (ref_counts + pseudo_count) / (len(ref) + pseudo_count * k)
    cur_p = (cur_counts + pseudo_count) / (len(cur) + pseudo_count * k)
    return {'name': name, 'reference': ref, 'current': cur, 'binCount': bin_count,
            'edges': [float(e) for e in edges],
            'referenceCounts': [int(v) for v in ref_counts], 'currentCounts': [int(v) for v in cur_counts],
            'psi': psi_plain(ref_p, cur_p), 'jensenShannon': float(distance.jensenshannon(ref_p, cur_p))}


binned = [
    binned_case('normal-vs-shifted', rng.normal(0, 1, 500), rng.normal(0.4, 1.1, 400), 10),
    binned_case('skewed', rng.lognormal(0, 0.8, 300), rng.lognormal(0.3, 0.8, 300), 8),
    binned_case('ties-collapse-edges', rng.integers(0, 3, 200), rng.integers(0, 5, 100), 10),
    binned_case('current-outside-range', rng.uniform(0, 1, 100), rng.uniform(2, 3, 50), 5),
]

doc = {
    'generator': 'scripts/drift-fixtures.py',
    'scipy': scipy.__version__,
    'numpy': np.__version__,
    'ks': ks,
    'kolmogorov': kolmogorov,
    'chisquare': chisquare,
    'chi2Contingency': contingency,
    'wasserstein': wasserstein,
    'jensenShannon': jensen_shannon,
    'psi': psi,
    'binned': binned,
}
with open(OUT, 'w') as f:
    json.dump(doc, f, separators=(',', ':'))
    f.write('\n')
print(f'wrote {os.path.normpath(OUT)}')
