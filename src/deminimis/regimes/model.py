"""The Regime model: one jurisdiction's rules for a validity interval, as data.

The engine implements mechanisms; a regime chooses among them and gives their
parameters.  A regime is built from a plain dict (or a TOML file with the same
keys); docs/semantics.md documents every key.  Amounts are decimal strings in
the customs currency; percentages are decimal strings ("19" for 19%).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import RegimeError
from ..money import INT64_MAX, exponent
from ..rounding import Rounding

BASES = ("intrinsic", "customs")
PERS = ("item", "consignment", "consignee_day", "consignee_year")
VALUATIONS = ("CIF", "FOB")
VAT_METHODS = ("exclusive", "gross_up")
WAIVER_TARGETS = ("duty", "vat", "duty_and_vat")
FEE_WHEN = ("always", "due", "not_relieved")


def read_toml(path: str | Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def _dec(x: Any, what: str, *, positive: bool = False) -> Decimal:
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        raise RegimeError(f"{what}: not a decimal number: {x!r}") from None
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise RegimeError(f"{what}: must be a {'positive' if positive else 'non-negative'} number, got {x!r}")
    return d


def _keys(d: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise RegimeError(f"{what}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")


def _date(x: Any, what: str) -> _dt.datetime | None:
    if x is None or x == "":
        return None
    if isinstance(x, _dt.datetime):
        return x
    if isinstance(x, _dt.date):
        return _dt.datetime(x.year, x.month, x.day)
    try:
        return _dt.datetime.fromisoformat(str(x))
    except ValueError:
        raise RegimeError(f"{what}: not an ISO date or date-time: {x!r}") from None


def _codes(xs: Any, what: str) -> tuple[str, ...]:
    codes = tuple(xs or ())
    for c in codes:
        if not isinstance(c, str) or not c.isdigit():
            raise RegimeError(f"{what}: code prefixes must be digit strings, got {c!r}")
    return codes


def _vocabulary(xs: Any, key: str, what: str) -> tuple[str, ...]:
    """Values a rule or fee names for an enumerated column, checked against its vocabulary."""
    from ..columns import NATURES, TRANSPORTS
    values = tuple(xs)
    for v in values:
        ok = (v in NATURES if key == "natures" else v in TRANSPORTS if key == "transports"
              else isinstance(v, str) and len(v) == 2 and v.isascii() and v.isalpha() and v.isupper())
        if not ok:
            allowed = {"natures": NATURES, "transports": TRANSPORTS}.get(key, ("ISO 3166 alpha-2 codes",))
            raise RegimeError(f"{what}.{key}: {v!r} is not in the vocabulary ({', '.join(allowed)})")
    return values


@dataclass(frozen=True)
class Condition:
    """A value threshold: the basis, aggregated `per`, compared `<=` (or `<`) with the threshold.

    thresholds_by_destination: the threshold of a consignment to one of these destinations (EU member
    states' import VAT exemption, EUR 10 to 22 before July 2021); `threshold` for any other."""

    threshold: Decimal
    basis: str = "intrinsic"
    per: str = "consignment"
    inclusive: bool = True
    thresholds_by_destination: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Condition:
        _keys(d, {"threshold", "basis", "per", "inclusive", "thresholds_by_destination"}, "condition")
        if "threshold" not in d:
            raise RegimeError("condition: 'threshold' is required")
        by_dest = dict(d.get("thresholds_by_destination") or {})
        _vocabulary(by_dest, "destinations", "condition.thresholds_by_destination")
        c = cls(threshold=_dec(d["threshold"], "condition threshold"), basis=d.get("basis", "intrinsic"),
                per=d.get("per", "consignment"), inclusive=bool(d.get("inclusive", True)),
                thresholds_by_destination=tuple(
                    (dest, _dec(t, f"condition threshold for destination {dest}")) for dest, t in by_dest.items()))
        if c.basis not in BASES:
            raise RegimeError(f"condition basis {c.basis!r} is not one of {BASES}")
        if c.per not in PERS:
            raise RegimeError(f"condition per {c.per!r} is not one of {PERS}")
        return c

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"threshold": str(self.threshold), "basis": self.basis, "per": self.per,
                             "inclusive": self.inclusive}
        if self.thresholds_by_destination:
            d["thresholds_by_destination"] = {dest: str(t) for dest, t in self.thresholds_by_destination}
        return d

    def threshold_for(self, destination: str) -> Decimal:
        """The threshold of a consignment to this destination."""
        return dict(self.thresholds_by_destination).get(destination, self.threshold)


@dataclass(frozen=True)
class Rule:
    """When a relief (or collection at sale, or a flat duty) applies.

    All conditions must hold; items whose code starts with an excluded prefix or
    whose origin is excluded never qualify; `transports`, when given, lists the
    transport modes that qualify; `requires_collected_at_sale` asks for the
    consignment's collected_at_sale flag.
    """

    conditions: tuple[Condition, ...] = ()
    excluded_codes: tuple[str, ...] = ()
    excluded_origins: tuple[str, ...] = ()
    transports: tuple[str, ...] | None = None
    requires_collected_at_sale: bool = False
    natures: tuple[str, ...] | None = None        # consignment natures that qualify ("sale", "gift")
    shipped_from: tuple[str, ...] | None = None   # places of direct shipment that qualify (CA: US, MX)

    _KEYS = {"conditions", "excluded_codes", "excluded_origins", "transports", "requires_collected_at_sale",
             "natures", "shipped_from"}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], what: str, *, extra: frozenset[str] = frozenset(),
                  requires_default: bool = False) -> Rule:
        _keys(d, cls._KEYS | set(extra), what)
        conds = tuple(Condition.from_dict(c) for c in d.get("conditions", ()))
        if len(conds) > 4:
            raise RegimeError(f"{what}: at most 4 conditions")
        def allow(key: str) -> tuple[str, ...] | None:
            return _vocabulary(d[key], key, what) if d.get(key) is not None else None

        return cls(conditions=conds, excluded_codes=_codes(d.get("excluded_codes"), what),
                   excluded_origins=tuple(d.get("excluded_origins", ())), transports=allow("transports"),
                   requires_collected_at_sale=bool(d.get("requires_collected_at_sale", requires_default)),
                   natures=allow("natures"), shipped_from=allow("shipped_from"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"conditions": [c.to_dict() for c in self.conditions],
                             "excluded_codes": list(self.excluded_codes),
                             "excluded_origins": list(self.excluded_origins),
                             "requires_collected_at_sale": self.requires_collected_at_sale}
        for key in ("transports", "natures", "shipped_from"):
            if getattr(self, key) is not None:
                d[key] = list(getattr(self, key))
        return d

    def allowed(self) -> dict[str, tuple[str, ...]]:
        """The consignment columns this rule restricts, and the values that qualify."""
        return {col: vals for col, vals in (("transport", self.transports), ("nature", self.natures),
                                             ("shipped_from", self.shipped_from)) if vals is not None}

    def excludes(self, code: str, origin: str) -> bool:
        return code.startswith(self.excluded_codes) or (bool(origin) and origin in self.excluded_origins)

    def transport_ok(self, transport: Any) -> bool:
        return self.transports is None or transport in self.transports


@dataclass(frozen=True)
class FlatDuty:
    """A fixed duty per distinct key (the code's first `key_digits` digits) in a consignment."""

    amount: Decimal
    key_digits: int
    rule: Rule

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FlatDuty:
        if "amount" not in d:
            raise RegimeError("flat_duty: 'amount' is required")
        kd = int(d.get("key_digits", 6))
        if not 2 <= kd <= 10:
            raise RegimeError("flat_duty: key_digits must be 2 to 10")
        return cls(amount=_dec(d["amount"], "flat_duty amount"), key_digits=kd,
                   rule=Rule.from_dict({k: v for k, v in d.items() if k not in ("amount", "key_digits")},
                                       "flat_duty"))

    def to_dict(self) -> dict[str, Any]:
        return {"amount": str(self.amount), "key_digits": self.key_digits, **self.rule.to_dict()}


@dataclass(frozen=True)
class Band:
    """Consignments whose basis value is <= up_to pay percent of it, less deduction (not below 0)."""

    up_to: Decimal
    percent: Decimal
    deduction: Decimal = Decimal(0)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Band:
        _keys(d, {"up_to", "percent", "deduction"}, "simplified_duty band")
        return cls(up_to=_dec(d.get("up_to"), "band up_to"), percent=_dec(d.get("percent"), "band percent"),
                   deduction=_dec(d.get("deduction", 0), "band deduction"))

    def to_dict(self) -> dict[str, str]:
        return {"up_to": str(self.up_to), "percent": str(self.percent), "deduction": str(self.deduction)}


@dataclass(frozen=True)
class SimplifiedDuty:
    """A duty in lieu of the tariff by value band of the consignment (BR Remessa Conforme, ZA flat rate)."""

    bands: tuple[Band, ...]
    basis: str
    rule: Rule

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SimplifiedDuty:
        bands = tuple(Band.from_dict(b) for b in d.get("bands", ()))
        if not 1 <= len(bands) <= 4:
            raise RegimeError("simplified_duty: 1 to 4 bands")
        if any(b.up_to <= a.up_to for a, b in zip(bands, bands[1:])):
            raise RegimeError("simplified_duty: bands must have increasing up_to")
        basis = d.get("basis", "customs")
        if basis not in BASES:
            raise RegimeError(f"simplified_duty basis {basis!r} is not one of {BASES}")
        return cls(bands=bands, basis=basis,
                   rule=Rule.from_dict({k: v for k, v in d.items() if k not in ("bands", "basis")},
                                       "simplified_duty"))

    def to_dict(self) -> dict[str, Any]:
        return {"bands": [b.to_dict() for b in self.bands], "basis": self.basis, **self.rule.to_dict()}


@dataclass(frozen=True)
class VatReduction:
    """Where its rule applies, the item's VAT rate is multiplied by factor (CN: 70% within the limits)."""

    factor: Decimal
    rule: Rule

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VatReduction:
        if "factor" not in d:
            raise RegimeError("vat_reduction: 'factor' is required")
        return cls(factor=_dec(d["factor"], "vat_reduction factor"),
                   rule=Rule.from_dict({k: v for k, v in d.items() if k != "factor"}, "vat_reduction"))

    def to_dict(self) -> dict[str, Any]:
        return {"factor": str(self.factor), **self.rule.to_dict()}


@dataclass(frozen=True)
class Surtax:
    """A tax of `fraction` of the VAT amount, added to it and rounded on its own (JP: the local
    consumption tax, 22/78 of the national consumption tax, rounded down to JPY 100)."""

    name: str
    fraction: Fraction
    rounding: Rounding

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Surtax:
        _keys(d, {"name", "fraction", "rounding"}, "vat surtax")
        for k in ("fraction", "rounding"):
            if k not in d:
                raise RegimeError(f"vat surtax: {k!r} is required")
        text = str(d["fraction"])
        num, _, den = text.partition("/")
        fraction = Fraction(_dec(num, "vat surtax fraction")) / Fraction(_dec(den or 1, "vat surtax fraction",
                                                                              positive=True))
        return cls(name=str(d.get("name", "surtax")), fraction=fraction, rounding=Rounding.from_dict(d["rounding"]))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "fraction": str(self.fraction), "rounding": self.rounding.to_dict()}


@dataclass(frozen=True)
class VatSpec:
    """VAT/GST rates by destination and goods category, and how the tax is computed."""

    rates: dict[str, dict[str, Decimal]]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_destination: str | None = None
    method: str = "exclusive"
    factor: Decimal = Decimal(1)
    adds_transport: bool = False
    surtaxes: tuple[Surtax, ...] = ()   # taxes on the VAT amount, added to it (JP local consumption tax)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VatSpec:
        _keys(d, {"rates", "categories", "default_destination", "method", "factor", "adds_transport", "surtaxes"},
              "vat")
        rates = {str(dest): {str(cat): _dec(r, f"vat rate {dest}/{cat}") for cat, r in cats.items()}
                 for dest, cats in dict(d.get("rates", {})).items()}
        if not rates:
            raise RegimeError("vat: at least one destination with rates is required")
        for dest, cats in rates.items():
            if "standard" not in cats:
                raise RegimeError(f"vat: destination {dest} needs a 'standard' rate")
            for cat, r in cats.items():
                if r >= 100:
                    raise RegimeError(f"vat: rate {dest}/{cat} must be below 100%")
        categories = {str(k): _codes(v, f"vat category {k}") for k, v in dict(d.get("categories", {})).items()}
        default = d.get("default_destination")
        if default is None and len(rates) == 1:
            default = next(iter(rates))
        if default is not None and default not in rates:
            raise RegimeError(f"vat: default_destination {default!r} has no rates")
        v = cls(rates=rates, categories=categories, default_destination=default,
                method=d.get("method", "exclusive"), factor=_dec(d.get("factor", 1), "vat factor"),
                adds_transport=bool(d.get("adds_transport", False)),
                surtaxes=tuple(Surtax.from_dict(t) for t in d.get("surtaxes", ())))
        if len(v.surtaxes) > 2:
            raise RegimeError("vat: at most 2 surtaxes")
        if v.method not in VAT_METHODS:
            raise RegimeError(f"vat method {v.method!r} is not one of {VAT_METHODS}")
        return v

    def to_dict(self) -> dict[str, Any]:
        return {"rates": {d: {c: str(r) for c, r in cats.items()} for d, cats in self.rates.items()},
                "categories": {k: list(v) for k, v in self.categories.items()},
                "default_destination": self.default_destination, "method": self.method,
                "factor": str(self.factor), "adds_transport": self.adds_transport,
                **({"surtaxes": [t.to_dict() for t in self.surtaxes]} if self.surtaxes else {})}

    def category_of(self, code: str) -> str:
        """The goods category of a code: the longest matching prefix wins; else 'standard'."""
        best, best_len = "standard", -1
        for cat, prefixes in self.categories.items():
            for p in prefixes:
                if code.startswith(p) and len(p) > best_len:
                    best, best_len = cat, len(p)
        return best


@dataclass(frozen=True)
class Waiver:
    """An assessed duty or VAT amount at or below `threshold` is not collected."""

    target: str
    threshold: Decimal
    per: str = "consignment"
    inclusive: bool = True
    excluded_codes: tuple[str, ...] = ()   # items never waived, nor counted (NZ: alcohol, tobacco)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Waiver:
        _keys(d, {"target", "threshold", "per", "inclusive", "excluded_codes"}, "waiver")
        w = cls(target=d.get("target", ""), threshold=_dec(d.get("threshold"), "waiver threshold"),
                per=d.get("per", "consignment"), inclusive=bool(d.get("inclusive", True)),
                excluded_codes=_codes(d.get("excluded_codes"), "waiver excluded_codes"))
        if w.target not in WAIVER_TARGETS:
            raise RegimeError(f"waiver target must be one of {WAIVER_TARGETS}, got {w.target!r}")
        if w.per not in ("item", "consignment"):
            raise RegimeError(f"waiver per must be 'item' or 'consignment', got {w.per!r}")
        return w

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "threshold": str(self.threshold), "per": self.per,
                "inclusive": self.inclusive, "excluded_codes": list(self.excluded_codes)}


@dataclass(frozen=True)
class Fee:
    """A fee per consignment (or per item): fixed + percent of customs value, bounded."""

    name: str
    per: str = "consignment"
    amount: Decimal = Decimal(0)
    percent: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    when: str = "always"  # "due": duty or VAT is due at the border; "not_relieved": an item is not duty-relieved
    transports: tuple[str, ...] | None = None
    value_above: Decimal | None = None   # consignment customs value > this
    value_up_to: Decimal | None = None   # consignment customs value <= this

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Fee:
        _keys(d, {"name", "per", "amount", "percent", "minimum", "maximum", "when", "transports",
                  "value_above", "value_up_to"}, "fee")
        opt = {k: (_dec(d[k], f"fee {k}") if d.get(k) is not None else None)
               for k in ("minimum", "maximum", "value_above", "value_up_to")}
        tr = d.get("transports")
        if tr is not None:
            _vocabulary(tr, "transports", f"fee {d.get('name', '')}")
        f = cls(name=str(d.get("name", "fee")), per=d.get("per", "consignment"),
                amount=_dec(d.get("amount", 0), "fee amount"), percent=_dec(d.get("percent", 0), "fee percent"),
                when=d.get("when", "always"), transports=tuple(tr) if tr is not None else None, **opt)
        if f.per not in ("consignment", "item"):
            raise RegimeError(f"fee per must be 'consignment' or 'item', got {f.per!r}")
        if f.when not in FEE_WHEN:
            raise RegimeError(f"fee when must be one of {FEE_WHEN}, got {f.when!r}")
        if f.per == "item" and f.percent:
            raise RegimeError("a per-item fee cannot have a percent")
        return f

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "per": self.per, "amount": str(self.amount),
                             "percent": str(self.percent), "when": self.when}
        for k in ("minimum", "maximum", "value_above", "value_up_to"):
            if getattr(self, k) is not None:
                d[k] = str(getattr(self, k))
        if self.transports is not None:
            d["transports"] = list(self.transports)
        return d


_ROUNDING_KINDS = ("conversion", "duty", "vat", "fee")
# optional: round the value an ad valorem duty, or the VAT, is computed on (US whole dollars, CH francs)
_BASE_ROUNDINGS = ("duty_base", "vat_base")


@dataclass(frozen=True)
class Regime:
    """One jurisdiction's rules for a validity interval.  Build with Regime.from_dict or from_toml."""

    id: str
    currency: str
    vat: VatSpec
    jurisdiction: str = ""
    name: str = ""
    valuation: str = "CIF"
    valid_from: _dt.datetime | None = None
    valid_to: _dt.datetime | None = None
    valuation_factor: Decimal = Decimal(1)
    duty_relief: tuple[Rule, ...] = ()
    vat_relief: tuple[Rule, ...] = ()
    collection_at_sale: Rule | None = None
    collection_at_sale_includes_duty: bool = False
    flat_duty: FlatDuty | None = None
    simplified_duty: SimplifiedDuty | None = None
    vat_reduction: VatReduction | None = None
    waivers: tuple[Waiver, ...] = ()
    fees: tuple[Fee, ...] = ()
    rounding: dict[str, Rounding] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Regime:
        _keys(d, {"id", "currency", "vat", "jurisdiction", "name", "valuation", "valid_from", "valid_to",
                  "valuation_factor", "duty_relief", "vat_relief", "collection_at_sale", "flat_duty",
                  "simplified_duty", "vat_reduction", "waivers", "fees", "rounding", "sources", "unverified",
                  "notes"}, "regime")
        for k in ("id", "currency", "vat"):
            if k not in d:
                raise RegimeError(f"regime: {k!r} is required")
        exp = exponent(d["currency"])
        rounding_in = dict(d.get("rounding", {}))
        _keys(rounding_in, set(_ROUNDING_KINDS) | set(_BASE_ROUNDINGS), "rounding")
        rounding = {k: Rounding.from_dict(rounding_in.get(k)) for k in _ROUNDING_KINDS}
        rounding.update({k: Rounding.from_dict(rounding_in[k]) for k in _BASE_ROUNDINGS if rounding_in.get(k)})
        for k, rnd in rounding.items():
            rnd.quantum_minor(exp)  # raises if not whole minor units
            if k not in ("duty", "vat") and rnd.level != "item":
                raise RegimeError(f"rounding.{k}: only level 'item' exists for {k}")

        def rule(key: str, requires_default: bool = False) -> Rule | None:
            return Rule.from_dict(d[key], key, requires_default=requires_default) if d.get(key) else None

        def reliefs(key: str) -> tuple[Rule, ...]:
            spec = d.get(key)
            if not spec:
                return ()
            specs = [spec] if isinstance(spec, Mapping) else list(spec)
            if len(specs) > 4:
                raise RegimeError(f"{key}: at most 4 rules")
            return tuple(Rule.from_dict(x, key) for x in specs)

        at_sale = dict(d.get("collection_at_sale") or {})
        includes_duty = bool(at_sale.pop("includes_duty", False))

        r = cls(id=str(d["id"]), currency=d["currency"], vat=VatSpec.from_dict(d["vat"]),
                jurisdiction=str(d.get("jurisdiction", "")), name=str(d.get("name", "")),
                valuation=d.get("valuation", "CIF"),
                valid_from=_date(d.get("valid_from"), "valid_from"), valid_to=_date(d.get("valid_to"), "valid_to"),
                valuation_factor=_dec(d.get("valuation_factor", 1), "valuation_factor", positive=True),
                duty_relief=reliefs("duty_relief"), vat_relief=reliefs("vat_relief"),
                collection_at_sale=Rule.from_dict(at_sale, "collection_at_sale", requires_default=True)
                if at_sale else None,
                collection_at_sale_includes_duty=includes_duty,
                flat_duty=FlatDuty.from_dict(d["flat_duty"]) if d.get("flat_duty") else None,
                simplified_duty=SimplifiedDuty.from_dict(d["simplified_duty"]) if d.get("simplified_duty") else None,
                vat_reduction=VatReduction.from_dict(d["vat_reduction"]) if d.get("vat_reduction") else None,
                waivers=tuple(Waiver.from_dict(w) for w in d.get("waivers", ())),
                fees=tuple(Fee.from_dict(f) for f in d.get("fees", ())),
                rounding=rounding, sources=tuple(d.get("sources", ())),
                unverified=tuple(d.get("unverified", ())), notes=str(d.get("notes", "")))
        if r.valuation not in VALUATIONS:
            raise RegimeError(f"valuation {r.valuation!r} is not one of {VALUATIONS}")
        for t in r.vat.surtaxes:
            t.rounding.quantum_minor(exp)  # raises if not whole minor units
        for c in (c for rule in r.rules() for c in rule.conditions):
            unknown = sorted(dest for dest, _ in c.thresholds_by_destination if dest not in r.vat.rates)
            if unknown:
                raise RegimeError(f"condition thresholds_by_destination: no VAT rates for destinations {unknown}")
        if len(r.waivers) > 4 or len(r.fees) > 8:
            raise RegimeError("at most 4 waivers and 8 fees")
        if r.valid_from and r.valid_to and r.valid_to <= r.valid_from:
            raise RegimeError("valid_to must be after valid_from")
        return r

    @classmethod
    def from_toml(cls, path: str | Path) -> Regime:
        return cls.from_dict(read_toml(path))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "currency": self.currency, "jurisdiction": self.jurisdiction,
                             "name": self.name, "valuation": self.valuation, "vat": self.vat.to_dict(),
                             "valuation_factor": str(self.valuation_factor),
                             "duty_relief": [r.to_dict() for r in self.duty_relief],
                             "vat_relief": [r.to_dict() for r in self.vat_relief],
                             "rounding": {k: r.to_dict() for k, r in self.rounding.items()},
                             "waivers": [w.to_dict() for w in self.waivers],
                             "fees": [f.to_dict() for f in self.fees],
                             "sources": list(self.sources), "unverified": list(self.unverified),
                             "notes": self.notes}
        for k in ("valid_from", "valid_to"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k).isoformat()
        for k in ("collection_at_sale", "flat_duty", "simplified_duty", "vat_reduction"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k).to_dict()
        if self.collection_at_sale is not None:
            d["collection_at_sale"]["includes_duty"] = self.collection_at_sale_includes_duty
        return d

    @property
    def content_hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def exponent(self) -> int:
        return exponent(self.currency)

    def in_force(self, on: _dt.date | _dt.datetime) -> bool:
        at = _date(on, "on")
        assert at is not None
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    def amount_minor(self, amount: Decimal, what: str) -> int:
        """A regime amount in minor units of its currency (must be whole minor units)."""
        scaled = amount.scaleb(self.exponent)
        if scaled != scaled.to_integral_value():
            raise RegimeError(f"{what} {amount} is not a whole number of minor units of {self.currency}")
        if scaled > INT64_MAX:
            raise RegimeError(f"{what} {amount} {self.currency} does not fit in 64-bit minor units")
        return int(scaled)

    def rules(self) -> list[Rule]:
        """Every rule of this regime: reliefs, collection at sale, flat and simplified duty, VAT reduction."""
        return [*self.duty_relief, *self.vat_relief,
                *(r for r in (self.collection_at_sale, self.flat_duty.rule if self.flat_duty else None,
                              self.vat_reduction.rule if self.vat_reduction else None,
                              self.simplified_duty.rule if self.simplified_duty else None) if r is not None)]

    def aggregations(self) -> set[str]:
        """Every `per` used by a condition of this regime."""
        return {c.per for r in self.rules() for c in r.conditions}
