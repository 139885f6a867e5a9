"""Symbolic model layer: states, parameters, terms, observables, modules and the immutable Model."""

from .components import Event as Event
from .components import Observable as Observable
from .components import Parameter as Parameter
from .components import State as State
from .components import Switch as Switch
from .components import Term as Term
from .model import Model as Model
from .module import Module as Module

__all__ = ["Event", "Observable", "Parameter", "State", "Switch", "Term", "Model", "Module"]
