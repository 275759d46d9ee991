"""Exchange-rate tables of exact decimal rates: one day's (ExchangeRates), or dated (DatedRates).

``ExchangeRates({"USD": "1.0876"}, base="EUR")`` quotes foreign units per base
unit, as the ECB does: 1 EUR = 1.0876 USD, so USD amounts are *divided* by
1.0876.  ``quote="base_per_foreign"`` takes the other quotation (1 USD = 1.3912
CAD, as the Bank of Canada and Brazil quote), and amounts are *multiplied*.
The two are different operations on exact decimals; neither goes through a
rounded reciprocal.

``DatedRates`` holds published rates with their validity periods (a day for the ECB and
the Bank of Canada, a calendar month for HMRC) and a rule saying which published rate
applies on a day; ``rates_on(day)`` is that day's ExchangeRates.  The rules:

- ``"daily"``: the rate whose period holds the day, else the last one published before
  it, if its period ended at most ``max_gap`` days before (default 4: the ECB's longest
  closure, Good Friday to Easter Monday, leaves Easter Monday 4 days after Thursday's rate).
  A longer silence is an error, never a stale rate: the ECB stopped quoting the rouble
  after 1 March 2022.
- ``"eu-customs"``: Art. 146 of Commission Implementing Regulation (EU) 2015/2447 (the
  Union Customs Code's implementing act; CELEX 32015R2447), for the customs value under
  Art. 53(1)(a) of the Code. Art. 146(2): "Der nach Absatz 1 maßgebliche Wechselkurs ist
  der jeweils am vorletzten Mittwoch eines Monats veröffentlichte Wechselkurs. Wird an
  diesem Tag kein Wechselkurs veröffentlicht, so gilt der zuletzt veröffentlichte
  Wechselkurs." (the rate published on the penultimate Wednesday of a month; where none
  was published that day, the last published rate); 146(3): "Der Wechselkurs gilt jeweils
  für einen Monat ab dem ersten Tag des folgenden Monats." (it applies for a month from
  the first day of the following month).  Quoted from the German text as consolidated on
  EUR-Lex; the English text there is the one to cite in English.  So a day
  of March 2026 takes the rate published on 18 February 2026; where none was published
  that Wednesday, the last one before it, within ``max_gap`` days (Art. 146(4) leaves a
  currency with no published rate to the member state: give that rate in a table).
- ``"uk-monthly"``: HMRC's monthly exchange rates for customs and VAT ("Exchange rates
  for customs and VAT", gov.uk; the files of www.trade-tariff.service.gov.uk/exchange_rates),
  each valid for one calendar month: the day's month's rate, no fallback.  Every period
  of such a table must be a calendar month.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple

from .errors import DeminimisError, MissingRateError, UnknownCurrencyError
from .money import INT64_MAX, exponent

QUOTES = ("foreign_per_base", "base_per_foreign")
#: which published rate applies on a day (module docstring)
RULES = ("daily", "eu-customs", "uk-monthly")
#: the default of DatedRates.max_gap, in days
MAX_GAP_DAYS = 4


def exact_rate(currency: str, r: Any) -> Decimal:
    """A rate as an exact positive Decimal (a float through its shortest repr)."""
    try:
        d = Decimal(str(r)) if not isinstance(r, Decimal) else r
    except InvalidOperation:
        raise DeminimisError(f"rate for {currency} is not a decimal: {r!r}") from None
    if not d.is_finite() or d <= 0:
        raise DeminimisError(f"rate for {currency} must be positive, got {r!r}")
    return d


class ExchangeRates:
    """Exact exchange rates into one base (customs) currency."""

    def __init__(self, rates: Mapping[str, Any], base: str, *, quote: str = "foreign_per_base",
                 source: str = "") -> None:
        exponent(base)
        if quote not in QUOTES:
            raise DeminimisError(f"quote must be one of {QUOTES}, got {quote!r}")
        self.base = base
        self.quote = quote
        self.source = source
        self.rates: dict[str, Decimal] = {}
        for cur, r in rates.items():
            exponent(cur)
            self.rates[cur] = exact_rate(cur, r)

    def __repr__(self) -> str:
        rates = {k: str(v) for k, v in self.rates.items()}
        return f"ExchangeRates({rates}, base={self.base!r}, quote={self.quote!r})"

    def has(self, currency: str) -> bool:
        return currency == self.base or currency in self.rates

    def factor(self, currency: str) -> Fraction:
        """Exact base minor units per minor unit of `currency`."""
        if currency == self.base:
            return Fraction(1)
        if currency not in self.rates:
            raise UnknownCurrencyError(f"no exchange rate from {currency} to {self.base}", value=currency)
        scale = Fraction(10) ** (exponent(self.base) - exponent(currency))
        r = Fraction(self.rates[currency])
        return scale / r if self.quote == "foreign_per_base" else scale * r

    def mul_div(self, currency: str) -> tuple[int, int]:
        """The factor as (multiplier, divisor) int64s for the core."""
        f = self.factor(currency)
        if f.numerator > INT64_MAX or f.denominator > INT64_MAX:
            raise DeminimisError(f"the {currency} rate has too many digits for 64-bit arithmetic")
        return f.numerator, f.denominator

    @property
    def content_hash(self) -> str:
        blob = json.dumps({"base": self.base, "quote": self.quote,
                           "rates": {k: str(v) for k, v in sorted(self.rates.items())}}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


class RatePeriod(NamedTuple):
    """One published rate: `rate` for `currency` from `valid_from` to `valid_to`, both days included."""

    currency: str
    valid_from: _dt.date
    valid_to: _dt.date
    rate: Decimal


def _day(x: Any, what: str) -> _dt.date:
    if isinstance(x, _dt.datetime):
        return x.date()
    if isinstance(x, _dt.date):
        return x
    if isinstance(x, str):
        try:
            return _dt.date.fromisoformat(x)
        except ValueError:
            pass
    raise DeminimisError(f"{what} must be a date or an ISO date string (YYYY-MM-DD), got {x!r}")


def penultimate_wednesday(year: int, month: int) -> _dt.date:
    """The penultimate Wednesday of a month (the EU customs rule's day of publication)."""
    last = _dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - _dt.timedelta(days=(last.weekday() - calendar.WEDNESDAY) % 7 + 7)


def _month_before(day: _dt.date) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


def _is_calendar_month(p: RatePeriod) -> bool:
    last = calendar.monthrange(p.valid_from.year, p.valid_from.month)[1]
    return p.valid_from.day == 1 and p.valid_to == p.valid_from.replace(day=last)


class DatedRates:
    """Exact exchange rates with validity periods, into one base currency, and the rule that picks
    the rate of a day (module docstring: "daily", "eu-customs", "uk-monthly").

    ``periods`` are (currency, valid_from, valid_to, rate) with both days included, in either
    quotation; a currency's periods may not overlap.  ``rates_on(day)`` is that day's
    ExchangeRates; ``deminimis.assess(items, rates=dated)`` converts each consignment at the
    rates of its ``date`` (or of ``on=``).  The loaders of deminimis.rates_loaders read the
    official publications into one; ``report`` says what they read.
    """

    def __init__(self, periods: Iterable[Sequence[Any]], base: str, *, quote: str = "foreign_per_base",
                 rule: str = "daily", max_gap: int = MAX_GAP_DAYS, source: str = "", report: Any = None) -> None:
        exponent(base)
        if quote not in QUOTES:
            raise DeminimisError(f"quote must be one of {QUOTES}, got {quote!r}")
        if rule not in RULES:
            raise DeminimisError(f"rule must be one of {RULES}, got {rule!r}")
        if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0:
            raise DeminimisError(f"max_gap must be a whole number of days >= 0, got {max_gap!r}")
        self.base, self.quote, self.rule, self.max_gap = base, quote, rule, max_gap
        self.source, self.report = source, report
        by_currency: dict[str, list[RatePeriod]] = {}
        for entry in periods:
            cur, start, end, r = entry
            exponent(cur)
            if cur == base:
                raise DeminimisError(f"a rate for the base currency {base} itself")
            p = RatePeriod(cur, _day(start, f"{cur} valid_from"), _day(end, f"{cur} valid_to"), exact_rate(cur, r))
            if p.valid_to < p.valid_from:
                raise DeminimisError(f"{cur} rate {p.rate}: valid_to {p.valid_to} is before valid_from {p.valid_from}")
            if rule == "uk-monthly" and not _is_calendar_month(p):
                raise DeminimisError(f"{cur} rate {p.rate} valid {p.valid_from} to {p.valid_to}: the uk-monthly rule "
                                     "takes rates valid for one calendar month")
            by_currency.setdefault(cur, []).append(p)
        self._periods: dict[str, list[RatePeriod]] = {}
        self._starts: dict[str, list[_dt.date]] = {}
        for cur, ps in sorted(by_currency.items()):
            ps.sort(key=lambda p: p.valid_from)
            for a, b in zip(ps, ps[1:]):
                if b.valid_from <= a.valid_to:
                    raise DeminimisError(f"two {cur} rates on {b.valid_from}: {a.rate} (valid {a.valid_from} to "
                                         f"{a.valid_to}) and {b.rate} (valid {b.valid_from} to {b.valid_to})")
            self._periods[cur] = ps
            self._starts[cur] = [p.valid_from for p in ps]

    @property
    def currencies(self) -> list[str]:
        return list(self._periods)

    @property
    def periods(self) -> list[RatePeriod]:
        return [p for ps in self._periods.values() for p in ps]

    def __len__(self) -> int:
        return sum(len(ps) for ps in self._periods.values())

    def __repr__(self) -> str:
        days = [p.valid_from for p in self.periods] + [p.valid_to for p in self.periods]
        span = f"{min(days)} to {max(days)}" if days else "empty"
        return (f"DatedRates({len(self)} rates of {len(self._periods)} currencies, {span}, base={self.base!r}, "
                f"quote={self.quote!r}, rule={self.rule!r}, max_gap={self.max_gap})")

    def with_rule(self, rule: str, max_gap: int | None = None) -> DatedRates:
        """The same rates under another rule (and maximum gap)."""
        return DatedRates(self.periods, self.base, quote=self.quote, rule=rule,
                          max_gap=self.max_gap if max_gap is None else max_gap, source=self.source, report=self.report)

    def publication_day(self, day: _dt.date) -> _dt.date:
        """The day whose published rate the rule applies on `day` (before any fallback to an earlier one)."""
        if self.rule == "eu-customs":
            return penultimate_wednesday(*_month_before(day))
        return day

    def _published(self, currency: str, day: _dt.date, gap: int) -> RatePeriod | str:
        """The rate in force on `day`, else the last one before it ending at most `gap` days before;
        or why there is none."""
        periods = self._periods.get(currency)
        if not periods:
            return f"the table has no {currency} rate"
        k = bisect.bisect_right(self._starts[currency], day) - 1
        if k < 0:
            return f"its first {currency} rate is valid from {periods[0].valid_from}"
        p = periods[k]
        if day <= p.valid_to or (day - p.valid_to).days <= gap:
            return p
        return (f"the last {currency} rate before it is valid to {p.valid_to}, more than max_gap={gap} "
                "days before")

    def rate_period(self, currency: str, day: _dt.date) -> RatePeriod | str:
        """The published rate that applies to `currency` on `day` under the rule, or why none does."""
        if self.rule == "uk-monthly":  # the month's own rate: no fallback
            return self._published(currency, day, 0)
        if self.rule == "eu-customs":
            wednesday = self.publication_day(day)
            found = self._published(currency, wednesday, self.max_gap)
            if isinstance(found, str):
                return (f"EU customs rule (Art. 146 IR 2015/2447): no {currency} rate published on {wednesday}, "
                        f"the penultimate Wednesday of the month before, nor in the {self.max_gap} days before "
                        f"it ({found})")
            return found
        return self._published(currency, day, self.max_gap)

    def missing(self, currency: str, day: _dt.date) -> str | None:
        """Why no rate applies to `currency` on `day` (None when one does; the base needs none)."""
        if currency == self.base:
            return None
        found = self.rate_period(currency, day)
        return found if isinstance(found, str) else None

    def rates_on(self, day: _dt.date | str, currencies: Iterable[str] | None = None) -> ExchangeRates:
        """The rates in force on `day` under the rule: every currency of the table that has one.

        ``currencies``: these must have one (MissingRateError naming the first that has not and
        the day); without it, at least one currency must (the day is within the table).
        """
        day = _day(day, "day")
        found: dict[str, Decimal] = {}
        why: dict[str, str] = {}
        for cur in self._periods:
            got = self.rate_period(cur, day)
            if isinstance(got, str):
                why[cur] = got
            else:
                found[cur] = got.rate
        for cur in currencies if currencies is not None else ():
            if cur != self.base and cur not in found:
                exponent(cur)
                raise MissingRateError(f"no {cur} rate on {day}: {why.get(cur, f'the table has no {cur} rate')}",
                                       value=cur)
        if currencies is None and not found and self._periods:
            raise MissingRateError(f"no rate of the table applies on {day} under the {self.rule} rule "
                                   f"({next(iter(why.values()))})", value=day.isoformat())
        label = f"{self.source}: " if self.source else ""
        return ExchangeRates(found, self.base, quote=self.quote, source=f"{label}{self.rule} rates for {day}")

    @property
    def content_hash(self) -> str:
        blob = json.dumps({"base": self.base, "quote": self.quote, "rule": self.rule, "max_gap": self.max_gap,
                           "periods": [[p.currency, p.valid_from.isoformat(), p.valid_to.isoformat(), str(p.rate)]
                                       for p in self.periods]}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()
