"""A straightforward vectorised NumPy implementation of policysim's step, as a speed reference.

It runs the same synthetic market as `policysim bench` (3 sectors of 4 services, every
consumer-side part on: trust, consent under opt-in, the privacy term, data, JV contributions)
and times the step the same way: one untimed warm-up step, then the median of the timed ones.
It uses NumPy's own generator, so its numbers are the same model but not the same draws.

    /usr/bin/python3 bench/reference_step.py --consumers 1000000 --steps 5
prints `ns_per_decision X` and `decisions_per_second Y` lines like `policysim bench`.
"""
import argparse
import time

import numpy as np

SECTORS, FIRMS = 3, 4


class Market:
    """Parameters and market state of the bench scenario (defaults of MODEL.md section 5)."""

    def __init__(self, n, rng):
        self.n = n
        self.alpha, self.qw, self.sw = 1.0, 1.0, 0.5
        self.revision, self.consent_revision = 0.1, 0.05
        self.trust_weight, self.benefit = 2.0, 0.0
        self.tau0, self.recovery, self.shock = 0.7, 0.02, 0.2
        control, surveillance, anonymization, reid = 0.5, 1.0, 0.3, 0.5
        self.anonymization = anonymization
        self.rho_jv = control * surveillance + (1 - anonymization) * reid
        # services: index f*SECTORS + s ; per sector options: outside + FIRMS services
        self.base_quality = np.array([[1.0 + 0.2 * f for s in range(SECTORS)] for f in range(FIRMS)])
        self.price = np.ones((FIRMS, SECTORS))
        self.cost = np.full((FIRMS, SECTORS), 0.5)
        self.extraction = np.full((FIRMS, SECTORS), 0.2)
        self.ad_rate = np.full((FIRMS, SECTORS), 0.1)
        self.data = np.zeros((FIRMS, SECTORS))
        self.quality = self.base_quality.copy()
        self.innovation = np.zeros(FIRMS)
        self.rate = np.full(FIRMS, 0.5)  # mandatory sharing of members
        self.jv_data = 0.0
        self.breached = np.zeros(FIRMS, bool)
        # consumers
        self.theta = 2.0 * rng.beta(2.0, 5.0, n).astype(np.float32)
        self.activity = rng.lognormal(-0.125, 0.5, n).astype(np.float32)
        self.trust = np.full(n, 0.7, np.float32)
        self.consent = np.zeros(n, np.uint8)
        u = rng.random((n, SECTORS))
        self.choice = np.minimum((u / 0.2).astype(np.int64) + 1, FIRMS + 1)
        self.choice[self.choice == FIRMS + 1] = 0
        self.choice = self.choice.astype(np.uint8)


def step(m, rng):
    n = m.n
    # trust after breaches of holders of the consumer's data
    exposed = np.zeros(n, bool)
    if m.breached.any():
        for s in range(SECTORS):
            c = m.choice[:, s]
            exposed |= (c > 0) & m.breached[np.maximum(c.astype(np.int64) - 1, 0)]
    m.trust = np.clip(m.trust + m.recovery * (m.tau0 - m.trust) - m.shock * exposed, 0, 1).astype(np.float32)
    # consent (opt-in)
    revise = rng.random(n) < m.consent_revision
    p = 1 / (1 + np.exp(-(m.trust_weight * m.trust - m.theta * m.rho_jv + m.benefit)))
    m.consent = np.where(revise, rng.random(n) < p, m.consent).astype(np.uint8)
    users = np.zeros((FIRMS, SECTORS))
    flow = np.zeros((FIRMS, SECTORS))
    consented = np.zeros((FIRMS, SECTORS))
    cs_total = 0.0
    for s in range(SECTORS):
        base = np.concatenate([[0.0], m.qw * m.quality[:, s] - m.alpha * m.price[:, s]]).astype(np.float32)
        risk0 = np.concatenate([[0.0], m.extraction[:, s]]).astype(np.float32)
        risk1 = np.concatenate([[0.0], m.extraction[:, s] + m.rate * m.rho_jv]).astype(np.float32)
        risk = np.where(m.consent[:, None] == 1, risk1[None, :], risk0[None, :])
        v = base[None, :] - m.theta[:, None] * risk
        vmax = v.max(axis=1)
        w = np.exp(v - vmax[:, None])
        total = w.sum(axis=1)
        cs_total += float(((vmax + np.log(total)) / m.alpha).sum())
        current = m.choice[:, s].astype(np.int64)
        rows = np.arange(n)
        w[rows, current] *= np.exp(m.sw)
        cum = np.cumsum(w, axis=1)
        u = rng.random(n) * cum[:, -1]
        new = (cum < u[:, None]).sum(axis=1)
        revise = rng.random(n) < m.revision
        chosen = np.where(revise, new, current)
        m.choice[:, s] = chosen
        d = m.activity * 1.0
        users[:, s] = np.bincount(chosen, minlength=FIRMS + 1)[1:]
        flow[:, s] = np.bincount(chosen, weights=d, minlength=FIRMS + 1)[1:] / n
        consented[:, s] = np.bincount(chosen, weights=d * m.consent, minlength=FIRMS + 1)[1:] / n
    # market update
    share = users / n
    m.data = 0.95 * m.data + flow
    contribution = m.rate[:, None] * consented
    m.jv_data = 0.95 * m.jv_data + (1 - m.anonymization) * contribution.sum()
    other = m.data.sum(axis=1, keepdims=True) - m.data
    effective = m.data + 0.3 * other + m.jv_data
    m.quality = m.base_quality + np.log1p(effective) + 0.5 * np.log1p(m.innovation)[:, None]
    revenue = ((m.price - m.cost) * share + m.ad_rate * flow).sum(axis=1)
    m.price = np.maximum(m.cost, m.price + 0.2 * (m.cost + 1 / (m.alpha * (1 - np.minimum(share, 0.999))) - m.price))
    m.innovation = 0.95 * m.innovation + 0.1 * (1 - 0.5 * m.rate) * np.maximum(revenue, 0)
    held = m.data.sum(axis=1)
    m.breached = rng.random(FIRMS) < 0.01 * held / (1 + held)
    return cs_total


def main():
    ap = argparse.ArgumentParser(description="NumPy reference of the policysim step")
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    m = Market(args.consumers, rng)
    step(m, rng)  # warm-up
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step(m, rng)
        times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    decisions = args.consumers * SECTORS
    print(f"consumers {args.consumers}")
    print(f"step_seconds {median:.6f}")
    print(f"ns_per_decision {median / decisions * 1e9:.3f}")
    print(f"decisions_per_second {decisions / median:.4g}")


if __name__ == "__main__":
    main()
