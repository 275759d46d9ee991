"""Loader for the UK Trade Tariff API's commodity responses (JSON:API, ``/api/v2/commodities/{code}``).

One response holds one declarable commodity (or heading) with every measure that applies to it:
``data`` is the commodity, its ``import_measures`` relationship lists the measures, and
``included`` holds each ``measure`` with its ``measure_type``, ``duty_expression``,
``geographical_area`` (a group lists its members as ``children_geographical_areas``),
``excluded_countries``, ``additional_code``, ``order_number`` and ``measure_condition`` objects.

What becomes a measure of the tariff (measure type ids as in TARIC and the UK tariff):

- 103 "Third country duty" on ERGA OMNES (1011) -> ``base``;
- 142 "Tariff preference", 145 "Preferential suspension", 106 "Customs Union Duty" -> ``origin``
  measures for the member countries of the measure's geographical area, less its excluded countries;
- trade remedies (series D and J: anti-dumping, countervailing, safeguard and other additional
  duties) -> an ``additional`` CannotAssess for the area's countries: the duty is real but depends on
  facts an item does not carry (exporter, additional code, conditions), so those items are reported,
  never assessed without it;
- everything else (VAT, excise, quotas, suspensions, end-use duties, controls) is counted in
  ``report.notes`` by measure type and not applied; type 109 (supplementary unit) gives the line's units.

A duty measure whose duty depends on its additional code, or on a condition that carries its own
duty (entry prices), is CannotAssess.  Conditions that only ask for a document (a proof of origin for
a preference) are read as met and counted.  Dates: ``effective_start_date`` is the first day,
``effective_end_date`` the last day in force (so ``valid_to`` is the day after).  The duty text is
``duty_expression.base`` (``6.00 %``, ``428.00 GBP / 1000 kg``, ``16.00 GBP / hl``), which the
duty parser reads as printed; ``formatted_base`` is the same text in HTML.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import TariffError
from .expr import CannotAssess
from .loaders import T, _add, _parse_cell
from .report import LoadReport

ERGA_OMNES = "1011"
BASE_TYPES = {"103": "third country duty"}
ORIGIN_TYPES = {"142": "tariff preference", "145": "preferential suspension", "106": "customs union duty"}
#: measure type series of trade remedies: D anti-dumping/countervailing duties, J countervailing charge
#: and additional duties (e.g. 695 additional duties, 696 safeguard)
REMEDY_SERIES = ("D", "J")

R_ADDITIONAL_CODE = "the duty depends on the additional code declared (not an item column)"
R_CONDITIONAL = "the duty depends on a condition of the measure (e.g. an entry price), not read"
R_REMEDY = ("a trade remedy or additional duty applies to this origin (it depends on the exporter, "
            "additional code or conditions): declare it as an 'additional' record if it applies")


def load_uk_trade_tariff_json(path_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                              make: Callable[..., T], *, currency: str = "GBP", name: str | None = None,
                              cite: str | None = None) -> T:
    """Load one or more saved UK Trade Tariff API commodity responses (see the module docstring).

    ``currency``: the tariff's currency, GBP for the UK service, EUR for the Northern Ireland (XI)
    service; an amount in another currency is flagged in the report.  ``cite``: every measure's source
    (default: the file name and the measure's id).  ``report.rows`` counts the import measures read,
    ``report.lines`` the commodities.
    """
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    if not paths:
        raise TariffError("no UK Trade Tariff API response given")
    names = [os.path.basename(os.fspath(p)) for p in paths]
    t = make(name=name or f"UK Trade Tariff API {', '.join(names)}")
    report = LoadReport(source=", ".join(names))
    seen: dict[str, str] = {}
    for p in paths:
        _load_one(os.fspath(p), t, report, currency, cite, seen)
    t.report = report
    return t


def _load_one(path: str, t: Any, report: LoadReport, currency: str, cite: str | None,
              seen: dict[str, str]) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except ValueError as exc:
        raise TariffError(f"{path}: not JSON ({exc})") from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or not isinstance(doc.get("included"), list):
        raise TariffError(f"{path}: not a UK Trade Tariff API response (needs 'data' and 'included')")
    code = str((data.get("attributes") or {}).get("goods_nomenclature_item_id") or "")
    if not (len(code) == 10 and code.isdigit()):
        raise TariffError(f"{path}: data.attributes.goods_nomenclature_item_id must be 10 digits, got {code!r}")
    refs = (data.get("relationships") or {}).get("import_measures", {}).get("data")
    if not isinstance(refs, list):
        raise TariffError(f"{path}: {data.get('type')} {code} has no import_measures (not a declarable "
                          "commodity: load /api/v2/commodities/{code} of a declarable code)")
    if code in seen:
        raise TariffError(f"{path}: commodity {code} was already loaded from {seen[code]}")
    seen[code] = path
    objects = _Included(path, doc["included"])
    report.lines += 1
    t.set_line(code, description=str(data["attributes"].get("description") or "") or None)
    source = os.path.basename(path)
    imported = set()
    for ref in refs:
        report.rows += 1
        m = objects.get("measure", ref.get("id"), f"{code} import_measures")
        imported.add(m["id"])
        _measure(m, code, objects, t, report, currency, cite or f"UK Trade Tariff API {source}, measure {m['id']}")
    exports = (data.get("relationships") or {}).get("export_measures", {}).get("data") or []
    n_export = len({r.get("id") for r in exports} - imported)
    if n_export:
        report.notes["export measures (not read)"] += n_export


class _Included:
    """The ``included`` objects of one response by (type, id); a missing one is a TariffError."""

    def __init__(self, path: str, included: list[Any]) -> None:
        self.path = path
        self.by_key = {(o.get("type"), str(o.get("id"))): o for o in included if isinstance(o, dict)}

    def get(self, kind: str, ident: Any, where: str) -> dict[str, Any]:
        found = self.by_key.get((kind, str(ident)))
        if found is None:
            raise TariffError(f"{self.path}: {where} refers to {kind} {ident!r}, which is not in 'included'")
        return found

    def related(self, obj: dict[str, Any], rel: str) -> Any:
        """The relationship's data (one reference, a list, or None)."""
        return ((obj.get("relationships") or {}).get(rel) or {}).get("data")


def _measure(m: dict[str, Any], code: str, objects: _Included, t: Any, report: LoadReport, currency: str,
             source: str) -> None:
    where = f"measure {m['id']} of {code}"
    ref = objects.related(m, "measure_type")
    if not isinstance(ref, dict):
        raise TariffError(f"{objects.path}: {where} has no measure_type")
    mtype = objects.get("measure_type", ref.get("id"), where)
    type_id = str(mtype["id"])
    attrs = mtype.get("attributes") or {}
    label = f"measure type {type_id} ({attrs.get('description') or '?'})"
    de = objects.related(m, "duty_expression")
    text = str((objects.get("duty_expression", de.get("id"), where).get("attributes") or {}).get("base") or "") \
        if isinstance(de, dict) else ""
    if type_id == "109":
        if text:
            t.set_line(code, units=[text])
        report.notes["supplementary unit (the line's units)"] += 1
        return
    is_remedy = attrs.get("measure_type_series_id") in REMEDY_SERIES
    if type_id not in BASE_TYPES and type_id not in ORIGIN_TYPES and not is_remedy:
        report.notes[f"not applied: {label}"] += 1
        return
    dates = _dates(m, objects.path, where)
    area, origins = _origins(m, objects, where, report)
    if is_remedy:
        report.notes[f"flagged for its origins, not applied: {label}"] += 1
        if origins:
            report.add(code, R_REMEDY, label)
            _add(t, report, code, CannotAssess(R_REMEDY, code), text or label, kind="additional",
                 origins=tuple(sorted(origins)), program=f"{type_id} {area}", source=source, **dates)
        return
    program = f"{type_id} {area}"
    add_code = objects.related(m, "additional_code")
    if isinstance(add_code, dict):
        ac = objects.get("additional_code", add_code.get("id"), where).get("attributes") or {}
        program += f" additional code {ac.get('code') or add_code.get('id')}"
        expr: Any = CannotAssess(R_ADDITIONAL_CODE, code)  # one tree for every code of the line: one reason
        report.add(code, R_ADDITIONAL_CODE, label)
    elif _duty_in_conditions(m, objects, where) or not text:
        expr = CannotAssess(R_CONDITIONAL, code)
        report.add(code, R_CONDITIONAL, label)
    else:
        expr = _parse_cell(text, code, label, report, currency)
    if objects.related(m, "measure_conditions"):
        report.notes["duty measures with document conditions (read as met)"] += 1
    if type_id in BASE_TYPES and area == ERGA_OMNES and not objects.related(m, "excluded_countries"):
        _add(t, report, code, expr, text or label, program=program, source=source, **dates)
    elif origins:
        if type_id in BASE_TYPES:
            report.notes["third country duty on an area other than ERGA OMNES (applied as an origin measure)"] += 1
        _add(t, report, code, expr, text or label, kind="origin", origins=tuple(sorted(origins)),
             program=program, source=source, **dates)
    else:
        report.notes[f"no country left in the area (not applied): {label}"] += 1


def _origins(m: dict[str, Any], objects: _Included, where: str, report: LoadReport) -> tuple[str, set[str]]:
    """The measure's geographical area id and its member countries less the excluded ones."""
    ref = objects.related(m, "geographical_area")
    if not isinstance(ref, dict):
        raise TariffError(f"{objects.path}: {where} has no geographical_area")
    area = objects.get("geographical_area", ref.get("id"), where)
    area_id = str(area["id"])
    children = objects.related(area, "children_geographical_areas")
    if children:
        members = {str(c.get("id")) for c in children}
    elif len(area_id) == 2 and area_id.isalpha():
        members = {area_id}
    else:
        raise TariffError(f"{objects.path}: {where}: geographical area {area_id} has no member countries "
                          "in the response (children_geographical_areas)")
    members -= {str(c.get("id")) for c in objects.related(m, "excluded_countries") or ()}
    countries = {c for c in members if len(c) == 2 and c.isascii() and c.isalpha() and c.isupper()}
    if len(countries) < len(members):
        report.notes["area members that are not countries (skipped)"] += len(members) - len(countries)
    return area_id, countries


def _duty_in_conditions(m: dict[str, Any], objects: _Included, where: str) -> bool:
    """Whether a condition of the measure carries a duty of its own (entry price, ...)."""
    for ref in objects.related(m, "measure_conditions") or ():
        cond = objects.get("measure_condition", ref.get("id"), where)
        has_duty = (cond.get("attributes") or {}).get("duty_expression")
        if has_duty or objects.related(cond, "measure_condition_components"):
            return True
    return False


def _dates(m: dict[str, Any], path: str, where: str) -> dict[str, _dt.date | None]:
    attrs = m.get("attributes") or {}
    out: dict[str, _dt.date | None] = {}
    for key, field, shift in (("valid_from", "effective_start_date", 0), ("valid_to", "effective_end_date", 1)):
        value = attrs.get(field)
        if value in (None, ""):
            out[key] = None
            continue
        try:
            out[key] = _dt.date.fromisoformat(str(value)[:10]) + _dt.timedelta(days=shift)
        except ValueError:
            raise TariffError(f"{path}: {where}: {field} must be an ISO date, got {value!r}") from None
    return out


__all__ = ["BASE_TYPES", "ORIGIN_TYPES", "R_ADDITIONAL_CODE", "R_CONDITIONAL", "R_REMEDY", "REMEDY_SERIES",
           "load_uk_trade_tariff_json"]
