"""deminimis: exact customs duty, import VAT/GST, fees and de minimis reliefs.

>>> import deminimis
>>> result = deminimis.assess(items, regime="EU", tariff=deminimis.tariff.sample("EU"), on=date)

Money is int64 minor units of the customs currency; ``deminimis.reference``
computes the same result item by item with Decimal.

``NATIVE`` is False where the compiled core cannot be used (no wheel for this machine, or
DEMINIMIS_PUREPYTHON set); ``NATIVE_REASON`` says why.  The package still imports and
``deminimis.reference.assess`` works; ``deminimis.assess`` raises NativeUnavailableError.
"""

from . import reference, regimes, tariff
from ._version import __version__
from .assessment import RULES, Assessment
from .engine import NATIVE, NATIVE_REASON, assess
from .errors import (
    AmbiguousCodeError,
    AmountOverflowError,
    DeminimisError,
    InconsistentConsignmentError,
    InputError,
    InvalidValueError,
    LengthMismatchError,
    MissingColumnError,
    MissingRateError,
    NativeUnavailableError,
    RegimeError,
    TariffError,
    TariffSyntaxError,
    UnknownCodeError,
    UnknownCurrencyError,
)
from .rates import DatedRates, ExchangeRates
from .regimes import Regime
from .rounding import Rounding
from .tariff import Tariff

__all__ = [
    "AmbiguousCodeError", "AmountOverflowError", "Assessment", "DatedRates", "DeminimisError", "ExchangeRates",
    "InconsistentConsignmentError", "InputError", "InvalidValueError", "LengthMismatchError", "MissingColumnError",
    "MissingRateError", "NATIVE", "NATIVE_REASON",
    "NativeUnavailableError", "RULES", "Regime",
    "RegimeError", "Rounding", "Tariff", "TariffError", "TariffSyntaxError", "UnknownCodeError",
    "UnknownCurrencyError", "assess", "reference", "regimes", "tariff", "__version__",
]
