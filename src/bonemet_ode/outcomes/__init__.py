"""The qualitative-outcome language: quantities, statements, outcomes, their text syntax and evaluation.

See ``docs/outcome_language.md`` for the grammar and examples.

Examples
--------
>>> from bonemet_ode.outcomes import parse
>>> print(parse("O3 (ER): cd8@28[KO] >= 2 * cd8@28[control]"))
O3: cd8 at day 28 in 'KO' ≥ 2 × cd8 at day 28 in 'control'
"""

from .arithmetic import Constant as Constant
from .arithmetic import Difference as Difference
from .arithmetic import Extreme as Extreme
from .arithmetic import Ratio as Ratio
from .arithmetic import Scaled as Scaled
from .base import LOG_FLOOR as LOG_FLOOR
from .base import Need as Need
from .base import Quantity as Quantity
from .base import Readout as Readout
from .base import Statement as Statement
from .base import UnavailableError as UnavailableError
from .base import Verdict as Verdict
from .cohort import CohortSpec as CohortSpec
from .cohort import Fraction as Fraction
from .cohort import Spearman as Spearman
from .combination import HSA as HSA
from .combination import Bliss as Bliss
from .context import Evaluation as Evaluation
from .context import EvaluationContext as EvaluationContext
from .context import evaluate_outcomes as evaluate_outcomes
from .parser import format_catalogue as format_catalogue
from .parser import parse as parse
from .parser import parse_catalogue as parse_catalogue
from .parser import parse_quantity as parse_quantity
from .parser import parse_statement as parse_statement
from .results import OutcomeResult as OutcomeResult
from .results import format_results as format_results
from .results import penalty as penalty
from .results import residual as residual
from .serialise import decode as decode
from .serialise import encode as encode
from .serialise import outcomes_from_json as outcomes_from_json
from .serialise import outcomes_to_json as outcomes_to_json
from .statements import AllOf as AllOf
from .statements import Between as Between
from .statements import Compare as Compare
from .statements import Outcome as Outcome
from .trajectory import NEVER_FACTOR as NEVER_FACTOR
from .trajectory import Extremum as Extremum
from .trajectory import Integral as Integral
from .trajectory import TimeTo as TimeTo
from .trajectory import TrajectoryQuantity as TrajectoryQuantity
from .trajectory import Value as Value

__all__ = [
    "Constant", "Difference", "Extreme", "Extremum", "Ratio", "Scaled", "LOG_FLOOR", "Need", "Quantity", "Readout",
    "Statement",
    "UnavailableError", "Verdict", "CohortSpec", "Fraction", "Spearman", "HSA", "Bliss", "Evaluation",
    "EvaluationContext", "evaluate_outcomes", "format_catalogue", "parse", "parse_catalogue", "parse_quantity",
    "parse_statement", "OutcomeResult", "format_results", "penalty", "residual", "decode", "encode",
    "outcomes_from_json", "outcomes_to_json", "AllOf", "Between", "Compare", "Outcome", "NEVER_FACTOR",
    "Integral", "TimeTo", "TrajectoryQuantity", "Value",
]
