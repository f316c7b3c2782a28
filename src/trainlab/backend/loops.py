"""The loops of the compiled kernels: the NumPy code's formulas, element by element.

Each function here repeats, in one pass over memory (three for BatchNorm), the very
operations of a NumPy reference, in the same order and in the arrays' dtype:

=========================  ===========================================================
loop                       the NumPy code it repeats
=========================  ===========================================================
``adam_update``            ``optim.Adam.update`` (and AdamW's decoupled decay)
``sgd_update``             ``optim.SGD.update``
``relu_forward``           ``nn.activations.relu_forward``
``masked_scale``           ``relu_backward`` (scale 1), ``dropout_backward`` (1/(1−p))
``dropout_forward``        ``nn.dropout.keep_mask`` and ``dropout_forward``
``batchnorm_forward``      ``nn.normalization.standardize`` and ``scale_shift``
``batchnorm_backward``     ``nn.normalization.batchnorm_backward``
=========================  ===========================================================

so that both give the same numbers **bit for bit**:

- every scalar arrives in the arrays' dtype (the argument ``c``, a 0-d structured array
  whose fields are read by name, ``c["eps"]``; see ``compiled.named_scalars``), as NumPy
  casts a Python float next to a float32 array;
- ``fastmath`` is off, so no product and sum are contracted into a fused multiply-add;
- BatchNorm's per-feature sums over the batch (μ, σ², Σdy, Σdy·x̂) add the rows in
  order, row 0 first, exactly as NumPy's ``sum(axis=0)`` and ``einsum("ij,ij->j")``
  accumulate a C-contiguous (N, D) array. (With a single feature NumPy sums the
  contiguous column pairwise instead, in another order: BatchNorm of one feature keeps
  the NumPy code.)

They are plain Python functions: the loop with the formulas is the documentation, and
it runs, slowly, without Numba too. ``compiled.NumbaBackend`` compiles them.
"""

from __future__ import annotations

import numpy as np

# -- optimizers (flat arrays of one parameter) ----------------------------------------------


def adam_update(p, g, m, v, vmax, c, amsgrad):
    """One Adam step over the flat arrays p, g, m, v (and vmax when ``amsgrad``; without
    it, pass any array, e.g. v: it is not touched).

    The fields of c (``compiled.adam_scalars``), in the arrays' dtype:
    ``weight_decay`` λ of the coupled decay (0: none), ``shrink`` 1 − γλ of the decoupled
    one (1: none), ``lerp_weight`` and ``lerp_from_m`` (the moving average of m, written
    as ``lerp_`` in ``optim.base`` writes it: m + w·(g − m) with w = 1 − β₁ when that is
    below ½ (lerp_from_m = 1), else g − w·(g − m) with w = β₁ (lerp_from_m = 0)),
    ``beta2`` β₂, ``one_minus_beta2`` 1 − β₂, ``bias_correction2_sqrt`` √(1 − β₂ᵗ),
    ``eps`` ε and ``step_size`` γ/(1 − β₁ᵗ). Per element::

        W ← W·(1 − γλ) (AdamW);  g ← g + λ·W (Adam);  m ← lerp(m, g, 1 − β₁);
        v ← β₂·v + ((1 − β₂)·g)·g;  v_max ← max(v_max, v) (amsgrad);
        W ← W − (m / (√v/√(1 − β₂ᵗ) + ε))·γ/(1 − β₁ᵗ).
    """
    wd = c["weight_decay"]
    shrink = c["shrink"]
    w1 = c["lerp_weight"]
    from_m = c["lerp_from_m"]
    b2 = c["beta2"]
    w2 = c["one_minus_beta2"]
    bc2_sqrt = c["bias_correction2_sqrt"]
    eps = c["eps"]
    step_size = c["step_size"]
    if wd == 0 and shrink == 1 and from_m != 0 and not amsgrad:
        # The common case, a branch-free loop that the compiler vectorises.
        for i in range(p.shape[0]):
            gi = g[i]
            mi = m[i]
            mi = mi + (gi - mi) * w1
            m[i] = mi
            vi = v[i] * b2 + (gi * w2) * gi
            v[i] = vi
            p[i] = p[i] - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size
        return
    for i in range(p.shape[0]):
        w = p[i]
        if shrink != 1:
            w = w * shrink
        gi = g[i]
        if wd != 0:
            gi = gi + w * wd
        mi = m[i]
        d = gi - mi
        if from_m != 0:
            mi = mi + d * w1
        else:
            mi = gi - d * w1
        m[i] = mi
        vi = v[i] * b2 + (gi * w2) * gi
        v[i] = vi
        if amsgrad:
            top = vmax[i]
            if vi > top or vi != vi:  # noqa: PLR0124 (np.maximum: a NaN on either side wins)
                top = vi
                vmax[i] = top
            vi = top
        p[i] = w - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size


def sgd_update(p, g, buf, c, first, momentum):
    """One SGD step over the flat arrays p, g (and the momentum buffer buf when
    ``momentum``; without it, pass any array, e.g. p: it is not touched).

    The fields of c (``compiled.sgd_scalars``), in the arrays' dtype: ``weight_decay`` λ,
    ``momentum`` μ, ``one_minus_dampening`` 1 − τ, ``dampened`` (1 when τ ≠ 0),
    ``nesterov`` (0/1), ``lr`` γ. ``first``: the buffer starts as g. Per element::

        g ← g + λ·W;  b ← g (first step) or μ·b + (1 − τ)·g;
        g ← g + μ·b (Nesterov) or b;  W ← W − g·γ.
    """
    wd = c["weight_decay"]
    mu = c["momentum"]
    w_damp = c["one_minus_dampening"]
    dampened = c["dampened"]
    nesterov = c["nesterov"]
    lr = c["lr"]
    for i in range(p.shape[0]):
        w = p[i]
        gi = g[i]
        if wd != 0:
            gi = gi + w * wd
        if momentum:
            if first:
                b = gi
            elif dampened != 0:
                b = buf[i] * mu + gi * w_damp
            else:
                b = buf[i] * mu + gi
            buf[i] = b
            if nesterov != 0:
                gi = gi + b * mu
            else:
                gi = b
        p[i] = w - gi * lr


# -- layers ------------------------------------------------------------------------------------


def relu_forward(z, y, mask):
    """ReLU over flat arrays: mask = z > 0, y = max(z, 0) (NaN stays NaN, −0 becomes +0,
    as ``np.maximum(z, 0)``)."""
    for i in range(z.shape[0]):
        zi = z[i]
        pos = zi > 0
        mask[i] = pos
        y[i] = zi if (pos or zi != zi) else 0.0  # noqa: PLR0124 (zi != zi: a NaN)


def masked_scale(dy, mask, c, dz):
    """dz = (dy ⊙ mask)·scale over flat arrays, the mask as 1 or 0 in dy's dtype.

    The fields of c, in dy's dtype: ``scale``, ``one`` (1), ``zero`` (0). ReLU's backward
    (scale 1: ``np.multiply(dy, mask)``, and ·1 changes nothing) and Dropout's backward
    (scale 1/(1−p)).
    """
    scale = c["scale"]
    one = c["one"]
    zero = c["zero"]
    for i in range(dy.shape[0]):
        dz[i] = (dy[i] * (one if mask[i] else zero)) * scale


def dropout_forward(x, u, p, c, mask, y):
    """Inverted dropout over flat arrays from the uniform draws u (float64):
    mask = u >= p, y = (x ⊙ mask)·scale. The fields of c, in x's dtype: ``scale``
    (1/(1−p)), ``one`` (1), ``zero`` (0)."""
    scale = c["scale"]
    one = c["one"]
    zero = c["zero"]
    for i in range(x.shape[0]):
        keep = u[i] >= p
        mask[i] = keep
        y[i] = (x[i] * (one if keep else zero)) * scale


def batchnorm_forward(x, gamma, beta, c, has_gamma, has_beta, x_hat, y, mean, var, inv_std):
    """Batch norm in training mode, x: (N, D) C-contiguous; writes x̂, y (N, D) and
    μ, σ², inv_std (D,). The fields of c, in x's dtype: ``count`` (N), ``eps`` (ε),
    ``one`` (1). Per feature j (as ``standardize`` and ``scale_shift``)::

        μ = (Σₙ x)/N;  x̂ = x − μ;  σ² = (Σₙ x̂·x̂)/N;  inv_std = 1/√(σ² + ε);
        x̂ ← x̂·inv_std;  y = x̂·γ (or x̂);  y ← y + β.

    The sums run over n = 0 … N−1 in order.
    """
    n, d = x.shape
    count = c["count"]
    eps = c["eps"]
    one = c["one"]
    row = x[0]
    for j in range(d):
        mean[j] = row[j]
        var[j] = 0.0
    for i in range(1, n):
        row = x[i]
        for j in range(d):
            mean[j] += row[j]
    for j in range(d):
        mean[j] = mean[j] / count
    for i in range(n):
        row = x[i]
        hat = x_hat[i]
        for j in range(d):
            centred = row[j] - mean[j]
            hat[j] = centred
            var[j] += centred * centred
    for j in range(d):
        var[j] = var[j] / count
        inv_std[j] = one / np.sqrt(var[j] + eps)
    for i in range(n):
        hat = x_hat[i]
        out = y[i]
        for j in range(d):
            h = hat[j] * inv_std[j]
            hat[j] = h
            if has_gamma:
                h = h * gamma[j]
            if has_beta:
                h = h + beta[j]
            out[j] = h


def batchnorm_backward(dy, x_hat, inv_std, gamma, c, has_gamma, dx, dgamma, dbeta, work):
    """Gradients of batch norm in training mode, dy, x̂: (N, D) C-contiguous, inv_std (D,);
    writes dx (N, D), dγ, dβ (D,); work: scratch (3, D). The field of c, in dy's dtype:
    ``count`` (N). Per feature j (as ``batchnorm_backward``)::

        dβ = Σₙ dy;  dγ = Σₙ dy·x̂;  dx = ((dy − dβ/N) − x̂·(dγ/N))·(γ·inv_std or inv_std).

    The sums run over n = 0 … N−1 in order.
    """
    n, d = dy.shape
    count = c["count"]
    g = dy[0]
    hat = x_hat[0]
    for j in range(d):
        dbeta[j] = g[j]
        dgamma[j] = g[j] * hat[j]
    for i in range(1, n):
        g = dy[i]
        hat = x_hat[i]
        for j in range(d):
            dbeta[j] += g[j]
            dgamma[j] += g[j] * hat[j]
    shift, slope, scale = work[0], work[1], work[2]
    for j in range(d):
        shift[j] = dbeta[j] / count
        slope[j] = dgamma[j] / count
        scale[j] = gamma[j] * inv_std[j] if has_gamma else inv_std[j]
    for i in range(n):
        g = dy[i]
        hat = x_hat[i]
        out = dx[i]
        for j in range(d):
            out[j] = ((g[j] - shift[j]) - hat[j] * slope[j]) * scale[j]
