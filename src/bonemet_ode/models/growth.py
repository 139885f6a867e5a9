"""Classical tumour-growth models with one state ``V`` (tumour volume, mm³; time in days).

Each factory returns a one-state :class:`~bonemet_ode.model.Model` whose
initial volume is the parameter ``V0`` (mm³, at day 0).  They are registered
in :mod:`bonemet_ode.models.registry` when this module is imported.

Models (V in mm³, t in days)
============================ ==============================================
name                         right-hand side ``dV/dt``
============================ ==============================================
``exponential``              ``alpha*V``
``logistic``                 ``alpha*V*(1 - V/K)``
``gompertz``                 ``(alpha - beta*ln(V/Vc))*V``, ``Vc = 1 mm³``
``reduced_gompertz``         ``beta*(k - ln(V/Vc))*V`` (``alpha = k*beta``)
``von_bertalanffy``          ``a*V**(2/3) - b*V``
``power_law``                ``a*V**gamma``
============================ ==============================================

The Gompertz parametrisation and the reduced Gompertz model follow Vaghi et
al. (2020), "Population modeling of tumor growth curves and the reduced
Gompertz model improve prediction of the age of experimental tumors", PLoS
Comput Biol 16:e1007178.  There ``dV/dt = (alpha - beta*ln(V/Vc))*V`` with
``V(0) = Vi``; for caliper volumes ``Vc = Vi = 1 mm³`` (1e6 injected cells
taken as 1 mm³).  Because the individual ``alpha`` and ``beta`` are strongly
correlated (R² > 0.92), the reduced model ties them through a population
constant: ``alpha = k*beta`` (the authors' code writes ``alpha0 = q + k*beta``
and uses ``q = 0``).  ``k = ln(K/Vc)`` is the log carrying capacity, the same
for every animal, so only ``beta`` is individual.  ``k`` is meant to be a
population parameter (estimated by a population fit, then fixed in
per-animal fits).

Closed forms (used by the tests): exponential ``V0*exp(alpha*t)``; logistic
``K*V0/(V0 + (K - V0)*exp(-alpha*t))``; Gompertz
``exp(alpha/beta*(1 - exp(-beta*t)) + ln(V0)*exp(-beta*t))``; von
Bertalanffy ``V**(1/3) = a/b + (V0**(1/3) - a/b)*exp(-b*t/3)``; power law
``(V0**(1-gamma) + (1-gamma)*a*t)**(1/(1-gamma))``.

Examples
--------
>>> import bonemet_ode.models.growth  # registers the models
>>> from bonemet_ode.models import get
>>> get("gompertz").parameter_names
('alpha', 'beta', 'V0')
"""

from __future__ import annotations

from ..model import Model, Module, Parameter, State, Term
from .registry import register

__all__ = [
    "GROWTH_MODELS",
    "GIVEN_PARAMETERS",
    "exponential",
    "logistic",
    "gompertz",
    "reduced_gompertz",
    "von_bertalanffy",
    "power_law",
]

VAGHI = "Vaghi et al. 2020, PLoS Comput Biol 16:e1007178 (initial guess of the authors' code, plumky)"
VAGHI_V0 = "Vaghi et al. 2020: Vi = 1 mm^3 (1e6 injected cells) at day 0"
BENZEKRY = "Benzekry et al. 2014, PLoS Comput Biol 10:e1003800 (model catalogue)"

#: Names of the growth models registered by this module.
GROWTH_MODELS: tuple[str, ...] = (
    "exponential", "logistic", "gompertz", "reduced_gompertz", "von_bertalanffy", "power_law",
)

#: Parameters that are given (held fixed) rather than fitted by default: the day-0 volume.
GIVEN_PARAMETERS: dict[str, tuple[str, ...]] = {name: ("V0",) for name in GROWTH_MODELS}


def _v0() -> Parameter:
    return Parameter("V0", 1.0, "mm^3", 1e-6, 1e6, "tumour volume at day 0", VAGHI_V0, log_scale=True)


def _model(name: str, rate: str, params: tuple[Parameter, ...], description: str) -> Model:
    module = Module(
        name,
        states=(State("V", "V0", "mm^3", "tumour volume"),),
        parameters=params + (_v0(),),
        terms=(Term("growth", rate, {"V": 1}, description),),
        description=description,
    )
    return Model(name, [module], description=description)


@register("exponential", "tumour growth dV/dt = alpha*V (V mm^3, days)")
def exponential() -> Model:
    """Exponential growth ``dV/dt = alpha*V``, ``V(0) = V0``."""
    return _model("exponential", "alpha*V", (
        Parameter("alpha", 0.3, "1/day", 1e-4, 10.0, "exponential growth rate", VAGHI, log_scale=True),
    ), "exponential tumour growth")


@register("logistic", "tumour growth dV/dt = alpha*V*(1 - V/K) (V mm^3, days)")
def logistic() -> Model:
    """Logistic growth ``dV/dt = alpha*V*(1 - V/K)``, ``V(0) = V0``."""
    return _model("logistic", "alpha*V*(1 - V/K)", (
        Parameter("alpha", 0.3, "1/day", 1e-4, 10.0, "intrinsic growth rate", BENZEKRY, log_scale=True),
        Parameter("K", 2e3, "mm^3", 1.0, 1e8, "carrying capacity", "plumky initial guess 2e3 mm^3",
                  log_scale=True),
    ), "logistic tumour growth")


@register("gompertz", "Gompertz dV/dt = (alpha - beta*ln V)*V, V in mm^3 (Vaghi 2020 parametrisation)")
def gompertz() -> Model:
    """Gompertz growth ``dV/dt = (alpha - beta*ln(V/Vc))*V`` with ``Vc = 1 mm³``, ``V(0) = V0``.

    Notes
    -----
    Vaghi et al. (2020) parametrisation: ``alpha`` is the growth rate at
    ``V = Vc``, ``beta`` the rate of exponential decrease of the specific
    growth rate; the carrying capacity is ``Vc*exp(alpha/beta)``.
    """
    return _model("gompertz", "(alpha - beta*log(V))*V", (
        Parameter("alpha", 0.6, "1/day", 1e-4, 20.0, "specific growth rate at V = 1 mm^3", VAGHI, log_scale=True),
        Parameter("beta", 0.07, "1/day", 1e-5, 5.0, "decay rate of the specific growth rate", VAGHI,
                  log_scale=True),
    ), "Gompertz tumour growth (Vaghi 2020), V in mm^3, Vc = 1 mm^3")


@register("reduced_gompertz", "reduced Gompertz dV/dt = beta*(k - ln V)*V, alpha = k*beta (Vaghi 2020)")
def reduced_gompertz() -> Model:
    """Reduced Gompertz ``dV/dt = beta*(k - ln(V/Vc))*V`` (``alpha = k*beta``), ``Vc = 1 mm³``.

    Notes
    -----
    Vaghi et al. (2020): the individual Gompertz parameters satisfy
    ``alpha = q + k*beta`` across animals with ``q = 0`` in the authors'
    implementation, so ``k = alpha/beta = ln(K/Vc)`` (the log carrying
    capacity) is a population constant and ``beta`` the only individual
    parameter.  Fit ``k`` at the population level and fix it in per-animal fits.
    """
    return _model("reduced_gompertz", "beta*(k - log(V))*V", (
        Parameter("beta", 0.07, "1/day", 1e-5, 5.0, "decay rate of the specific growth rate", VAGHI,
                  log_scale=True),
        Parameter("k", 9.0, "1", 0.1, 30.0, "log carrying capacity ln(K/Vc), shared by the population",
                  "Vaghi 2020 (alpha = k*beta); default near the per-mouse median alpha/beta of the LLC set"),
    ), "reduced Gompertz tumour growth (Vaghi 2020), V in mm^3")


@register("von_bertalanffy", "von Bertalanffy dV/dt = a*V^(2/3) - b*V (V mm^3, days)")
def von_bertalanffy() -> Model:
    """Von Bertalanffy growth ``dV/dt = a*V**(2/3) - b*V``, ``V(0) = V0``."""
    return _model("von_bertalanffy", "a*V**(2.0/3.0) - b*V", (
        Parameter("a", 1.0, "mm/day", 1e-4, 1e3, "surface-limited growth rate (mm^3^(1/3)/day)", BENZEKRY,
                  log_scale=True),
        Parameter("b", 0.05, "1/day", 1e-6, 10.0, "volume loss rate", BENZEKRY, log_scale=True),
    ), "von Bertalanffy tumour growth")


@register("power_law", "power-law growth dV/dt = a*V^gamma (V mm^3, days)")
def power_law() -> Model:
    """Power-law growth ``dV/dt = a*V**gamma`` (``0 < gamma < 1``), ``V(0) = V0``."""
    return _model("power_law", "a*V**gamma", (
        Parameter("a", 0.5, "mm^(3(1-gamma))/day", 1e-4, 1e3, "growth coefficient", BENZEKRY, log_scale=True),
        Parameter("gamma", 0.7, "1", 0.01, 0.999, "growth exponent (fractal dimension / 3)", BENZEKRY),
    ), "power-law tumour growth")
