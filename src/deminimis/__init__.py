"""deminimis: exact customs duty, import VAT/GST, fees and de minimis reliefs.

>>> import deminimis
>>> result = deminimis.assess(items, regime="EU", tariff=deminimis.tariff.sample("EU"), on=date)

Money is int64 minor units of the customs currency; ``deminimis.reference``
computes the same result item by item with Decimal.
"""

__version__ = "0.1.0"

from . import reference, regimes, tariff
from .assessment import RULES, Assessment
from .engine import assess
from .errors import (AmountOverflowError, DeminimisError, InconsistentConsignmentError, InputError,
                     InvalidValueError, LengthMismatchError, MissingColumnError, RegimeError, TariffError,
                     TariffSyntaxError, UnknownCodeError, UnknownCurrencyError)
from .rates import ExchangeRates
from .regimes import Regime
from .rounding import Rounding
from .tariff import Tariff

__all__ = [
    "AmountOverflowError", "Assessment", "DeminimisError", "ExchangeRates", "InconsistentConsignmentError",
    "InputError", "InvalidValueError", "LengthMismatchError", "MissingColumnError", "RULES", "Regime",
    "RegimeError", "Rounding", "Tariff", "TariffError", "TariffSyntaxError", "UnknownCodeError",
    "UnknownCurrencyError", "assess", "reference", "regimes", "tariff", "__version__",
]
