"""A compiled model's shared library, loaded with ctypes, and the calls into it.

:class:`CompiledModel` wraps one library built by :func:`~bonemet_ode.compile.backend.compile_model`:
right-hand side, Jacobian, observables, batched solves; :class:`SingleSolver` is the prepared call
of one solve that ``Simulator.run`` repeats.  Also the solver's counters and status codes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..errors import CompileError
from ..model import Model

__all__ = ["CompiledModel", "SingleSolver", "NSTATS", "STATS_NAMES", "STATUS_MESSAGES", "stats_dict"]

#: Number of solver counters returned per solve (see :data:`STATS_NAMES`).
NSTATS = 7
#: Names of the solver counters, in the order the compiled solver returns them.
STATS_NAMES = ("steps", "accepted", "rejected", "rhs_evals", "jacobian_evals", "lu_decompositions", "events")


def stats_dict(counts: list[int]) -> dict[str, int]:
    """The solver counters of one solve by name (:data:`STATS_NAMES`), from the list of their values."""
    steps, accepted, rejected, rhs, jac, lu, events = counts
    return {"steps": steps, "accepted": accepted, "rejected": rejected, "rhs_evals": rhs, "jacobian_evals": jac,
            "lu_decompositions": lu, "events": events}
#: Message of each solver status code (0 is success; a cohort member with another code holds NaN).
STATUS_MESSAGES = {
    0: "ok",
    1: "maximum number of steps reached",
    2: "step size fell below its minimum (the solution may blow up or a state may be discontinuous)",
    3: "non-finite values (NaN or inf) in the solution",
    4: "bad input",
    5: "more than 1000 state-triggered event executions at one instant (an event that re-triggers itself?)",
    6: ("no safe pivot for the sparse LU in its static order at any step size, and the model has more states "
        "than the dense pivoting fallback allows (solver_core.c BM_DENSE_MAX)"),
    7: "out of memory for the solver's work arrays",
    8: ("an event's sensitivity jump is undefined (its trigger touches zero without crossing) or not supported "
        "(simultaneous events whose values read states and were computed before another of them changed the state)"),
}


#: Paths this process has passed to dlopen (guarded by ``_lock``).
_dlopened: set[str] = set()


def _dlopen(path: Path) -> ctypes.CDLL:
    """``ctypes.CDLL(path)``, also after the file at ``path`` was replaced by a rebuild in this process.

    The dynamic loader returns the handle it already has for a name it has loaded before, so a
    rebuilt library is opened through a private hard link (a new name; the loader then tells the
    new file from the old one by its inode); the link is removed once the library is mapped.
    """
    name = str(path)
    if name not in _dlopened:
        lib = ctypes.CDLL(name)
        _dlopened.add(name)
        return lib
    fd, alias = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".so", dir=path.parent)
    os.close(fd)
    os.unlink(alias)
    try:
        try:
            os.link(path, alias)
        except OSError:
            shutil.copyfile(path, alias)
        return ctypes.CDLL(alias)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(alias)


_P = ctypes.c_void_p
_I = ctypes.c_int
_D = ctypes.c_double


class CompiledModel:
    """A loaded shared library for one model structure.

    Attributes
    ----------
    n_states, n_params, n_observables : int
        Sizes; ``n_params`` counts the per-term on/off flags; with
        sensitivities, states and observables include their sensitivities.
    sensitivities : tuple of str
        Sensitivity targets compiled in (empty for a plain model).
    key : str
        Cache key of the library.
    path : pathlib.Path
        The shared library on disk.
    """

    def __init__(self, model: Model, path: Path, key: str, sensitivities: tuple[str, ...] = ()) -> None:
        try:
            lib = _dlopen(path)
        except OSError as exc:
            raise CompileError(f"cannot load compiled model {model.name!r} from {path}: {exc}") from None
        try:
            built_for = (ctypes.c_char * 33).in_dll(lib, "bm_cache_key").value.decode()
        except (ValueError, UnicodeDecodeError):
            built_for = None
        if built_for != key:
            raise CompileError(f"compiled library {path} was built for another key ({built_for}), not {key}")
        self._lib = lib
        self.path = path
        self.key = key
        self.compile_seconds = 0.0
        self.was_built = False
        sizes = (ctypes.c_int * 3)()
        lib.bm_sizes(sizes)
        self.n_states, self.n_params, self.n_observables = int(sizes[0]), int(sizes[1]), int(sizes[2])
        self.sensitivities = tuple(sensitivities)
        k = 1 + len(self.sensitivities)
        expected = (k * len(model.state_names), len(model.parameter_names) + len(model.term_names),
                    k * len(model.observables))
        if (self.n_states, self.n_params, self.n_observables) != expected:
            raise CompileError(f"compiled library {path} does not match model {model.name!r}; "
                               "recompile with force=True")
        self.state_names = model.state_names
        self.observable_names = model.observable_names
        for fname in ("bm_rhs_ext", "bm_jac_ext", "bm_obs_ext"):
            getattr(lib, fname).argtypes = [_P, _P, _P]
            getattr(lib, fname).restype = None
        lib.bm_jac_ext.restype = _I
        lib.bm_iter_solve_ext.argtypes = [_P, _P, _D, _P]
        lib.bm_iter_solve_ext.restype = _I
        lib.bm_solve_batch.argtypes = [_I, _P, _P, _D, _P, _I, _P, _P, _P, _P, _I, _P, _P, _P, _P, _P, _P, _P, _P]
        lib.bm_solve_batch.restype = _I
        self._solve_batch = lib.bm_solve_batch
        lib.bm_solve_packed.argtypes = [_P]
        lib.bm_solve_packed.restype = _I
        self._solve_packed = lib.bm_solve_packed

    def __repr__(self) -> str:
        return (f"<CompiledModel {self.key[:12]}: {self.n_states} states, {self.n_params} parameters "
                f"(with term flags), {self.n_observables} observables>")

    # -- single evaluations (tests, fitting helpers) --------------------------
    def _vec(self, a: np.ndarray, n: int, what: str) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=float)
        if a.shape != (n,):
            raise ValueError(f"{what} must have shape ({n},), got {a.shape}")
        return a

    def rhs(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """``dx/dt`` at state ``y`` and parameter vector ``p``."""
        y, p = self._vec(y, self.n_states, "y"), self._vec(p, self.n_params, "p")
        out = np.empty(self.n_states)
        self._lib.bm_rhs_ext(y.ctypes.data, p.ctypes.data, out.ctypes.data)
        return out

    def jacobian(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """``df/dx`` (states x states) at ``y`` and ``p``."""
        y, p = self._vec(y, self.n_states, "y"), self._vec(p, self.n_params, "p")
        out = np.empty((self.n_states, self.n_states))
        if self._lib.bm_jac_ext(y.ctypes.data, p.ctypes.data, out.ctypes.data):
            raise MemoryError(f"no memory for the packed Jacobian of {self.n_states} states")
        return out

    def observables(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Observable values at ``y`` and ``p``."""
        y, p = self._vec(y, self.n_states, "y"), self._vec(p, self.n_params, "p")
        out = np.empty(max(self.n_observables, 1))
        self._lib.bm_obs_ext(y.ctypes.data, p.ctypes.data, out.ctypes.data)
        return out[: self.n_observables]

    def iteration_solve(self, y: np.ndarray, p: np.ndarray, fac: float, b: np.ndarray) -> tuple[np.ndarray, int]:
        """Solve ``(fac*I - J(y)) x = b`` the way a solver step does (tests).

        Returns ``(x, path)``: path 0 is the generated sparse factorisation (or its explicit
        inverse), 1 the dense pivoting fallback, 2 a singular matrix, 3 a matrix with no safe
        pivot in the static order for a model too large for the dense fallback (``x`` is NaN
        for 2 and 3).
        """
        y, p = self._vec(y, self.n_states, "y"), self._vec(p, self.n_params, "p")
        x = self._vec(b, self.n_states, "b").copy()
        path = int(self._lib.bm_iter_solve_ext(y.ctypes.data, p.ctypes.data, float(fac), x.ctypes.data))
        if path < 0:
            raise MemoryError(f"no memory for the work arrays of {self.n_states} states")
        if path >= 2:
            x[:] = np.nan
        return x, path

    # -- integration -----------------------------------------------------------
    def solve_batch(
        self,
        Y0: np.ndarray,
        P: np.ndarray,
        tout: np.ndarray,
        events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        opts: np.ndarray,
        atol: np.ndarray,
        *,
        t0: float = 0.0,
        observables: bool = True,
        out: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Integrate ``len(Y0)`` problems sharing times and events, in compiled code.

        Arrays must be C-contiguous float64 (int32 for event kinds and
        indices); the caller validates them.  Returns ``(Y, O, stats, status,
        fail_t, fail_state)`` with ``Y`` of shape (members, times, states).
        ``out=(Y, O)`` writes into those arrays instead of new ones (C-contiguous float64
        of shapes (members, times, states) and (members, times, max(observables, 1)), or
        ``O=None`` for no observables).  The GIL is released while the C code runs.
        """
        m, nt = Y0.shape[0], tout.shape[0]
        # the C code writes every output (NaN after a failure)
        if out is None:
            Y = np.empty((m, nt, self.n_states))
            O = np.empty((m, nt, max(self.n_observables, 1))) if observables and self.n_observables else None
        else:
            Y, O = out
            if O is not None and not self.n_observables:
                O = None
            for a, width in ((Y, self.n_states), (O, max(self.n_observables, 1))):
                if a is not None and (a.shape != (m, nt, width) or a.dtype != np.float64
                                      or not a.flags.c_contiguous or not a.flags.writeable):
                    raise ValueError(f"out arrays must be writeable C-contiguous float64 of shape {(m, nt, width)}, "
                                     f"got {a.shape} {a.dtype}")
        stats = np.zeros((m, NSTATS), dtype=np.int64)
        status = np.zeros(m, dtype=np.int32)
        fail_t = np.zeros(m)
        fail_state = np.zeros(m, dtype=np.int32)
        ev_t, ev_kind, ev_idx, ev_val = events
        self._solve_batch(
            m, Y0.ctypes.data, P.ctypes.data, t0, tout.ctypes.data, nt,
            ev_t.ctypes.data, ev_kind.ctypes.data, ev_idx.ctypes.data, ev_val.ctypes.data, ev_t.shape[0],
            opts.ctypes.data, atol.ctypes.data, Y.ctypes.data, O.ctypes.data if O is not None else None,
            stats.ctypes.data, status.ctypes.data, fail_t.ctypes.data, fail_state.ctypes.data,
        )
        return Y, O, stats, status, fail_t, fail_state

    def single_solver(
        self,
        tout: np.ndarray,
        events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        opts: np.ndarray,
        atol: np.ndarray,
        *,
        t0: float = 0.0,
        observables: bool = True,
    ) -> SingleSolver:
        """A callable that solves one member at a time with these times, events and options.

        Same results as :meth:`solve_batch` with one member, with the per-call Python cost
        cut to a few microseconds: the addresses of the fixed arrays are taken once, and
        each thread reuses its own input and output buffers.
        """
        return SingleSolver(self, tout, events, opts, atol, t0=t0, observables=observables)


def _addr(a: np.ndarray) -> int:
    return int(a.ctypes.data)


class _Call(ctypes.Structure):
    """``bm_call`` of solver_core.c: the arguments of one ``bm_solve_batch`` call in one block."""

    _fields_ = [
        ("nsets", ctypes.c_longlong), ("nout", ctypes.c_longlong), ("nev", ctypes.c_longlong), ("t0", ctypes.c_double),
        *[(name, ctypes.c_void_p) for name in ("Y0", "P", "tout", "ev_t", "ev_kind", "ev_idx", "ev_val", "opts", "atol",
                                               "yout", "oout", "stats", "status", "fail_t", "fail_state")]]


class SingleSolver:
    """One-member solves with fixed times, events and options (see :meth:`CompiledModel.single_solver`).

    Calling it with ``(y0, p)`` returns ``(Y, O, stats, status, fail_t, fail_state)`` shaped like
    :meth:`CompiledModel.solve_batch` with one member; the arrays are fresh copies.  :meth:`solve`
    returns the same with Python numbers in place of the small arrays.  Thread-safe: buffers are
    per thread.
    """

    def __init__(self, cm: CompiledModel, tout: np.ndarray, events, opts: np.ndarray, atol: np.ndarray, *,
                 t0: float = 0.0, observables: bool = True) -> None:
        self._cm = cm
        # keep the fixed arrays alive: the C call reads them through raw addresses
        self._fixed = tuple(np.ascontiguousarray(a) for a in (tout, *events, opts, atol))
        tout, ev_t, ev_kind, ev_idx, ev_val, opts, atol = self._fixed
        if ev_kind.dtype != np.int32 or ev_idx.dtype != np.int32:
            raise TypeError("event kinds and indices must be int32")
        self._nt, self._nev, self._t0 = tout.shape[0], ev_t.shape[0], float(t0)
        self._obs = bool(observables and cm.n_observables)
        self._local = threading.local()
        self._const: tuple = (None, None)

    def constant_inputs(self, y0: np.ndarray | None, p: np.ndarray | None) -> None:
        """Declare ``y0`` and ``p`` (the caller's own arrays, or None) constant: they are made read-only,
        and a thread whose buffers already hold one of them skips copying it in again."""
        for a in (y0, p):
            if a is not None:
                a.flags.writeable = False
        self._const = (y0, p)

    def _buffers(self) -> tuple:
        b = getattr(self._local, "b", None)
        if b is None:
            cm, nt = self._cm, self._nt
            Y0, P = np.empty((1, cm.n_states)), np.empty((1, max(cm.n_params, 1)))
            Y = np.empty((1, nt, cm.n_states))
            O = np.empty((1, nt, max(cm.n_observables, 1))) if self._obs else None
            stats = np.empty((1, NSTATS), dtype=np.int64)
            codes = np.empty(2, dtype=np.int32)  # status, fail_state
            fail_t = np.empty(1)
            tout, ev_t, ev_kind, ev_idx, ev_val, opts, atol = self._fixed
            call = _Call(1, nt, self._nev, self._t0, _addr(Y0), _addr(P), _addr(tout), _addr(ev_t), _addr(ev_kind),
                         _addr(ev_idx), _addr(ev_val), _addr(opts), _addr(atol), _addr(Y),
                         _addr(O) if O is not None else None, _addr(stats), _addr(codes), _addr(fail_t),
                         _addr(codes) + codes.itemsize)
            b = self._local.b = (Y0[0], P[0, : cm.n_params], Y, O, stats, codes, fail_t, call, ctypes.addressof(call),
                                 Y[0], O[0] if O is not None else None, stats[0], [None, None])
        return b

    def _run(self, y0: np.ndarray, p: np.ndarray) -> tuple:
        """Fill this thread's input buffers, solve, and return the buffers (outputs written in place)."""
        b = self._buffers()
        held = b[12]  # the constant inputs (constant_inputs) these buffers hold, or None
        if y0 is not held[0]:
            b[0][:] = y0
            held[0] = y0 if y0 is self._const[0] else None
        if p is not held[1]:
            b[1][:] = p
            held[1] = p if p is self._const[1] else None
        self._cm._solve_packed(b[8])
        return b

    def solve(self, y0: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, list[int], int, float, int]:
        """One solve: ``(Y, O, stats, status, fail_t, fail_state)`` with ``Y`` (times x states) and ``O``
        (times x observables, or None) fresh arrays, ``stats`` a list of the :data:`NSTATS` counters, and
        the status code, failure day and failing state index as Python numbers."""
        *_, codes, fail_t, _call, _addr, Y, O, stats, _held = self._run(y0, p)
        status, fail_state = codes.tolist()
        # the C code leaves fail_t at t0 unless the solve fails
        return (Y.copy(), O.copy() if O is not None else None, stats.tolist(), status,
                float(fail_t[0]) if status else self._t0, fail_state)

    def __call__(self, y0: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray,
                                                            np.ndarray, np.ndarray]:
        _y, _p, Y, O, stats, codes, fail_t, *_ = self._run(y0, p)
        return (Y.copy(), O.copy() if O is not None else None, stats.copy(), codes[:1].copy(), fail_t.copy(),
                codes[1:].copy())
