"""mamba_ssm's selective_scan_fn and causal-conv1d's causal_conv1d_fn on
numpy arrays, each one compiled ssm op (cached per shapes and options)."""
import numpy as np

from . import _cache, _ssm_mlir


def _float32(name, value, fn):
    """`value` as a C-ordered float32 array (other float dtypes converted);
    complex, integer and other dtypes are a TypeError naming `name`."""
    if value is None:
        raise TypeError("%s: %s is required, got None" % (fn, name))
    a = np.asarray(value)
    if a.dtype.kind == "c":
        raise TypeError("%s: %s is complex; ssm-mlir's scan is real (complex "
                        "A, as S4D uses, is not supported yet)" % (fn, name))
    if a.dtype.kind != "f":
        raise TypeError("%s: %s must be a floating-point array, got dtype %s"
                        % (fn, name, a.dtype))
    return np.asarray(a, dtype=np.float32, order="C")


def _shape(a):
    return None if a is None else tuple(a.shape)


def _run(fn, func, key, build, args):
    """Compiles (or finds in the cache) the one-op program `key` and calls
    its function `func` on the present `args`; contract violations are
    ValueErrors that name `fn`."""
    try:
        program = _cache.programs.get(key, build)
    except ValueError as e:
        raise ValueError("%s: %s" % (fn, e)) from None
    return program.call(func, [a for a in args if a is not None])


def selective_scan_fn(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                      delta_softplus=False, return_last_state=False, h0=None,
                      target="cpu", threads=None, gpu=None):
    """mamba_ssm's selective scan (semantics.md section 1), channel-first:

        u, delta, z: (batch, dim, seqlen); A: (dim, dstate);
        B, C: (dim, dstate), (batch, dstate, seqlen) or
              (batch, groups, dstate, seqlen); D, delta_bias: (dim,);
        h0 (an extension: the state before the first step): (batch, dim,
        dstate).

    delta_softplus applies softplus to delta + delta_bias. Returns out
    (batch, dim, seqlen) float32, or (out, last_state) with last_state
    (batch, dim, dstate) when return_last_state. Inputs of any float dtype
    are computed in float32. threads: threads over channel tiles (None:
    every core). gpu: the GPU kernels' options for target "nvptx" or
    "gpu-emulator" (ssm_mlir.compile). Shapes that break the contract raise
    ValueError naming the operand."""
    fn = "selective_scan_fn"
    names = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "h0")
    values = (u, delta, A, B, C, D, z, delta_bias, h0)
    # The first five are required: None there is _float32's TypeError.
    arrays = [None if v is None and i >= 5 else _float32(n, v, fn)
              for i, (n, v) in enumerate(zip(names, values))]
    key, opts = _cache.jit_options(target, threads, gpu=gpu)
    shapes = [_shape(a) for a in arrays]
    flags = (bool(delta_softplus), bool(return_last_state))
    results = _run(
        fn, "selective_scan", ("selective_scan", tuple(shapes), flags, key),
        lambda: _ssm_mlir.build_selective_scan(
            *[list(s) if s is not None else None for s in shapes],
            delta_softplus=flags[0], return_last_state=flags[1],
            options=opts),
        arrays)
    return (results[0], results[1]) if return_last_state else results[0]


def causal_conv1d_fn(x, weight, bias=None, seq_idx=None, initial_states=None,
                     return_final_states=False, final_states_out=None,
                     activation=None, target="cpu", threads=None, gpu=None):
    """causal-conv1d's depthwise causal convolution (semantics.md section
    3), channel-first:

        x: (batch, dim, seqlen); weight: (dim, width); bias: (dim,);
        initial_states: (batch, dim, width - 1), the inputs before x.

    activation: None, "silu" or "swish". Returns out (batch, dim, seqlen)
    float32, or (out, final_states) when return_final_states (the last
    width - 1 inputs, to continue the convolution); final_states_out, when
    given, receives them. seq_idx is not supported. gpu: the GPU kernels'
    options for target "nvptx" or "gpu-emulator" (ssm_mlir.compile)."""
    fn = "causal_conv1d_fn"
    if activation not in (None, "silu", "swish"):
        raise NotImplementedError(
            "%s: activation must be None, 'silu' or 'swish', got %r"
            % (fn, activation))
    if seq_idx is not None:
        raise NotImplementedError("%s: seq_idx is not supported" % fn)
    if final_states_out is not None and not return_final_states:
        raise ValueError("%s: final_states_out needs return_final_states=True"
                         % fn)
    names = ("x", "weight", "bias", "initial_states")
    # x and weight are required: None there is _float32's TypeError.
    arrays = [None if v is None and i >= 2 else _float32(n, v, fn)
              for i, (n, v) in enumerate(zip(names, (x, weight, bias,
                                                     initial_states)))]
    key, opts = _cache.jit_options(target, threads, gpu=gpu)
    shapes = [_shape(a) for a in arrays]
    flags = (activation is not None, bool(return_final_states))
    results = _run(
        fn, "causal_conv1d", ("causal_conv1d", tuple(shapes), flags, key),
        lambda: _ssm_mlir.build_causal_conv1d(
            *[list(s) if s is not None else None for s in shapes],
            silu=flags[0], return_final_states=flags[1], options=opts),
        arrays)
    if not return_final_states:
        return results[0]
    final = results[1]
    if final_states_out is not None:
        if np.shape(final_states_out) != final.shape:
            raise ValueError("%s: final_states_out has shape %s, expected %s"
                             % (fn, np.shape(final_states_out), final.shape))
        np.copyto(final_states_out, final)
        final = final_states_out
    return results[0], final
