"""A tiny self-organizing map in numpy, in the spirit of Topographica's tiny.ty.

Gaussian blobs at random positions on a square retina train a square sheet of
cortical units; each unit's afferent weights move towards the input, weighted
by a neighbourhood that shrinks over time. Deterministic given `seed`.

Run it in batch mode:  sweep run-batch specs/tiny.py -p cortex_density=12 --times 50,100,200
"""

import numpy as np
import param

from sweep import global_params as p

p.add(
    retina_density=param.Integer(16, bounds=(2, None), doc="Retina units per side."),
    cortex_density=param.Integer(12, bounds=(2, None), doc="Cortex units per side."),
    learning_rate=param.Number(0.1, bounds=(0, 1), doc="Initial learning rate."),
    radius=param.Number(0.3, bounds=(0, None), doc="Initial neighbourhood radius, as a fraction of the sheet."),
    input_width=param.Number(0.08, bounds=(0.001, None), doc="Width of the Gaussian input blobs."),
    decay_time=param.Number(500.0, bounds=(1, None), doc="Time constant of the learning-rate and radius decay."),
    seed=param.Integer(1, doc="Random seed: inputs and initial weights."),
)

rng = np.random.default_rng(p.seed)
_r = (np.arange(p.retina_density) + 0.5) / p.retina_density
retina_x, retina_y = [a.ravel() for a in np.meshgrid(_r, _r)]
_c = (np.arange(p.cortex_density) + 0.5) / p.cortex_density
cortex_xy = np.stack([a.ravel() for a in np.meshgrid(_c, _c)], axis=1)
weights = rng.uniform(0, 1, size=(p.cortex_density ** 2, p.retina_density ** 2))
weights /= weights.sum(axis=1, keepdims=True)
test_positions = np.random.default_rng(12345).uniform(0.1, 0.9, size=(64, 2))
time = 0


def pattern(xy):
    """A normalised Gaussian blob centred at xy on the retina."""
    blob = np.exp(-((retina_x - xy[0]) ** 2 + (retina_y - xy[1]) ** 2) / (2 * p.input_width ** 2))
    return blob / blob.sum()


def step():
    global time
    decay = np.exp(-time / p.decay_time)
    x = pattern(rng.uniform(0.1, 0.9, size=2))
    winner = np.argmin(((weights - x) ** 2).sum(axis=1))
    sigma = max(p.radius * decay, 0.5 / p.cortex_density)
    d2 = ((cortex_xy - cortex_xy[winner]) ** 2).sum(axis=1)
    h = np.exp(-d2 / (2 * sigma ** 2))[:, None]
    weights[:] += p.learning_rate * decay * h * (x - weights)
    time += 1


def run(until):
    """Advance the simulation to time `until` (one input presentation per unit of time)."""
    while time < until:
        step()


def results():
    """Quantization and topographic error on a fixed test set, and the map of preferred positions."""
    inputs = np.array([pattern(xy) for xy in test_positions])
    d = ((inputs[:, None, :] - weights[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(d, axis=1)[:, :2]
    best = cortex_xy[order[:, 0]]
    second = cortex_xy[order[:, 1]]
    neighbours = np.abs(best - second).max(axis=1) <= 1.01 / p.cortex_density
    preferred = (weights @ np.stack([retina_x, retina_y], axis=1)) / weights.sum(axis=1, keepdims=True)
    return {
        "quantization_error": float(np.sqrt(d[np.arange(len(d)), order[:, 0]]).mean()),
        "topographic_error": float(1 - neighbours.mean()),
        "weight_map": preferred.reshape(p.cortex_density, p.cortex_density, 2),
    }


if __name__ == "__main__":
    run(200)
    print({k: v for k, v in results().items() if k != "weight_map"})
