"""Experiment 2: sigmoid's derivative is at most 1/4, so the gradient vanishes towards the input.

Notes §2-§3: σ'(z) = σ(z)(1 − σ(z)) ≤ 0.25, and by the chain rule the gradient k layers
below the top carries k such factors. For hidden states h_j = σ(h_{j−1}W_j + b_j)

    ‖∂L/∂h_{j−1}‖ ≤ 0.25·‖W_j‖₂·‖∂L/∂h_j‖,   so   ‖∂L/∂h_{L−k}‖ ≤ 0.25ᵏ·∏‖W‖₂·‖∂L/∂h_L‖

(‖W‖₂ the spectral norm). For the weights themselves, ∂L/∂W_j = h_{j−1}ᵀ(σ'(z_j) ⊙ ∂L/∂h_j)
carries one more factor σ' — the notes' k + 1 factors:

    ‖∂L/∂W_{L−k}‖ ≤ ‖h_{L−k−1}‖₂ · 0.25ᵏ⁺¹ · ∏‖W‖₂ · ‖∂L/∂h_L‖.

Measured on a deep sigmoid MLP classifying digits, per layer, against both bounds, over
several seeds; a ReLU network of the same depth with He initialisation (remedy 1 of the
notes) and the same sigmoid network with batch normalisation before each sigmoid
(remedy 5) are the contrasts.
"""

from __future__ import annotations

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import fmt, linear_at, load_split, mlp, per_layer_signal
from trainlab.lab.experiment import Context, Experiment


def derivative_curve() -> tuple[np.ndarray, np.ndarray]:
    """σ'(z) on a fine grid, from trainlab's Sigmoid backward with dy = 1."""
    z = np.linspace(-10, 10, 20001).reshape(-1, 1)
    layer = nn.Sigmoid()
    layer.forward(z)
    return z.ravel(), layer.backward(np.ones_like(z)).ravel()


def gradient_profile(model: nn.Sequential, x: np.ndarray, labels: np.ndarray,
                     kind: str) -> tuple[np.ndarray, np.ndarray]:
    """‖∂L/∂h‖ at each activation's output (input side first) for the cross-entropy loss,
    and the spectral norm of the weight *above* each activation."""
    loss = nn.CrossEntropyLoss()
    loss(model.forward(x), labels)
    dy = loss.backward()
    _, _, grad_ms = per_layer_signal(model, x, dy, kinds=(kind,))
    norms = np.sqrt(grad_ms * dy.shape[0] * linear_at(model, 0).out_features)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    spectral = np.array([np.linalg.norm(m.weight.data.astype(np.float64), 2)
                         for m in linears[1:-1]])
    return norms, spectral


def weight_gradient_bound(model: nn.Sequential, x: np.ndarray,
                          labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """‖∂L/∂W_j‖_F of each hidden Linear (input side first) from trainlab's backward, and the
    bound ‖h_{j−1}‖₂ · 0.25ᵏ⁺¹ · ∏‖W‖₂ · ‖∂L/∂h_L‖_F with k the number of sigmoid layers above
    layer j (the model alternates Linear and Sigmoid and ends with a Linear)."""
    loss = nn.CrossEntropyLoss()
    model.zero_grad()
    inputs, h = [], x
    for layer in model:
        if isinstance(layer, nn.Linear):
            inputs.append(h)
        h = layer.forward(h)
    loss(h, labels)
    dy = loss.backward()
    # ∂L/∂h_L, at the last sigmoid's output
    top = np.linalg.norm(dy @ linear_at(model, -1).weight.data.T)
    model.backward(dy)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    grads = np.array([np.linalg.norm(m.weight.grad) for m in linears[:-1]])
    spectral = [np.linalg.norm(m.weight.data.astype(np.float64), 2) for m in linears[1:-1]]
    depth = len(grads)
    bound = np.array([np.linalg.norm(inputs[j], 2) * 0.25 ** (depth - j)
                      * np.prod(spectral[j:]) * top for j in range(depth)])
    return grads, bound


def run(ctx: Context) -> None:
    z, d = derivative_curve()
    peak = float(d.max())
    ctx.check("σ'(z) ≤ 0.25 with the maximum at z = 0", "max σ' = 0.25 ± 1e-9 at |z| < 1e-3",
              f"max σ' = {peak:.10f} at z = {z[d.argmax()]:.4f}",
              abs(peak - 0.25) < 1e-9 and abs(z[d.argmax()]) < 1e-3)

    depth, width = ctx.pick(20, 10), ctx.pick(100, 64)
    split = load_split("digits", seed=ctx.seed)
    x, y = split.X_train[:512].astype(np.float64), split.y_train[:512]
    bound_ok, shrink, ratios, profiles, weight_ok, weight_slack = True, [], [], [], True, []
    for seed in ctx.seeds(3, 2):
        model = mlp(split.n_features, [width] * depth, split.n_classes, "sigmoid",
                    "xavier_normal", seed=seed, dtype="float64")
        norms, spectral = gradient_profile(model, x, y, "Sigmoid")
        top = norms[-1]
        # bound for the activation k layers below the top: 0.25^k · ∏ of the k spectral norms above
        bound = top * np.concatenate([np.cumprod((0.25 * spectral)[::-1])[::-1], [1.0]])
        bound_ok &= bool(np.all(norms <= bound * (1 + 1e-9)))
        ratios.append(norms[0] / top)
        shrink.append(float(np.exp(np.mean(np.log(norms[:-1] / norms[1:])))))
        profiles.append((norms / top, bound / top))
        w_grads, w_bound = weight_gradient_bound(model, x, y)
        weight_ok &= bool(np.all(w_grads <= w_bound * (1 + 1e-9)))
        weight_slack.append(float(np.max(w_grads / w_bound)))
    relu = mlp(split.n_features, [width] * depth, split.n_classes, "relu", "he_normal",
               seed=ctx.seed, dtype="float64")
    relu_norms, _ = gradient_profile(relu, x, y, "ReLU")
    relu_ratio = relu_norms[0] / relu_norms[-1]
    normed = mlp(split.n_features, [width] * depth, split.n_classes, "sigmoid", "xavier_normal",
                 norm="batch", seed=ctx.seed, dtype="float64")
    bn_norms, _ = gradient_profile(normed, x, y, "Sigmoid")
    bn_ratio = bn_norms[0] / bn_norms[-1]

    ctx.check(f"every layer's gradient is within the bound 0.25ᵏ·∏‖W‖₂ ({depth} sigmoid layers)",
              "‖∂L/∂h_(L−k)‖ ≤ 0.25ᵏ·∏‖W‖₂·‖∂L/∂h_L‖ for all k and seeds",
              "holds at every layer" if bound_ok else "violated", bound_ok)
    ctx.check(f"every weight gradient is within 0.25ᵏ⁺¹ (k + 1 factors σ', {depth} sigmoid layers)",
              "‖∂L/∂W_(L−k)‖ ≤ ‖h_(L−k−1)‖₂·0.25ᵏ⁺¹·∏‖W‖₂·‖∂L/∂h_L‖ for all k and seeds",
              f"{'holds at every layer' if weight_ok else 'violated'}; largest measured/bound "
              f"{max(weight_slack):.2f}", weight_ok)
    worst = max(ratios)
    ctx.check(f"the gradient shrinks towards the input ({depth} sigmoid layers, Xavier)",
              "‖∂L/∂h_1‖/‖∂L/∂h_L‖ < 1e-3 for every seed",
              f"ratio ≤ {worst:.2e}; mean shrink per layer ×{np.mean(shrink):.3f}",
              worst < 1e-3)
    ctx.check("a ReLU network of the same depth with He init keeps the gradient",
              "1/10 < ‖∂L/∂h_1‖/‖∂L/∂h_L‖ < 10", f"ratio = {relu_ratio:.3g}",
              0.1 < relu_ratio < 10)
    ctx.check("batch norm before each sigmoid keeps the gradient (remedy 5, normalisation)",
              "1/10 < ‖∂L/∂h_1‖/‖∂L/∂h_L‖ < 10", f"ratio = {bn_ratio:.3g}", 0.1 < bn_ratio < 10)
    ctx.main(f"first/last sigmoid-layer gradient = {np.median(ratios):.1e} over {depth} layers "
             f"(×{np.mean(shrink):.3f} per layer; bound ×0.25·‖W‖₂)")
    ctx.table("gradient norm per sigmoid layer, relative to the top (first seed)",
              ["layer (input → output)", "‖∂L/∂h‖ / top", "bound 0.25ᵏ·∏‖W‖₂", "0.25ᵏ"],
              [[j + 1, fmt(m), fmt(b), fmt(0.25 ** (depth - 1 - j))]
               for j, (m, b) in enumerate(zip(*profiles[0], strict=True))])

    fig, (ax_d, ax_g) = new_figure(2, 1)
    ax_d.plot(z, d, color=COLORS[0], label="σ'(z) (trainlab backward)")
    ax_d.axhline(0.25, color="k", ls="--", label="0.25")
    ax_d.set_xlabel("z")
    ax_d.set_ylabel("σ'(z)")
    ax_d.set_title("the sigmoid's derivative is at most 1/4")
    ax_d.legend(loc="upper left")
    layers = np.arange(1, depth + 1)
    for i, (measured, bound) in enumerate(profiles):
        ax_g.semilogy(layers, measured, "o-", color=COLORS[0], alpha=0.8,
                      label="sigmoid, Xavier (measured)" if i == 0 else None)
        ax_g.semilogy(layers, bound, ":", color=COLORS[3],
                      label="bound 0.25ᵏ·∏‖W‖₂" if i == 0 else None)
    ax_g.semilogy(layers, 0.25 ** (depth - layers), "k--", label="0.25ᵏ")
    ax_g.semilogy(layers, relu_norms / relu_norms[-1], "s-", color=COLORS[2],
                  label="ReLU, He (measured)")
    ax_g.semilogy(layers, bn_norms / bn_norms[-1], "^-", color=COLORS[1],
                  label="sigmoid + batch norm (measured)")
    ax_g.set_xlabel("hidden layer (input → output)")
    ax_g.set_ylabel("‖∂L/∂h‖ relative to the top layer")
    ax_g.set_title(f"gradient through {depth} layers, digits batch of {x.shape[0]}")
    ax_g.legend(fontsize=9)
    ctx.figure(fig, "sigmoid_gradient",
               "σ' ≤ 1/4 and the gradient per layer against the 0.25ᵏ bound")


EXPERIMENT = Experiment(
    "sigmoid-gradient",
    "Sigmoid's derivative bound and the vanishing gradient",
    "σ' ≤ 0.25, so in a deep sigmoid network the gradient shrinks towards the input, "
    "layer by layer within the 0.25ᵏ bound (0.25ᵏ⁺¹ for the weights); ReLU or batch norm keep it.",
    run,
)
