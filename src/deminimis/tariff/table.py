"""The Tariff model: code -> duty expression, with origin-specific lines.

Lookup is longest-prefix (10 -> 9 -> ... -> 2 digits) and happens once per
distinct (code, origin) pair in a batch, never per item.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import TariffError, TariffSyntaxError
from .expr import Expr
from .parse import parse


def _check_code(code: Any) -> str:
    if not isinstance(code, str) or not code.isdigit() or not 2 <= len(code) <= 10 or not code.isascii():
        raise TariffError(f"a tariff code must be a string of 2 to 10 digits, got {code!r}")
    return code


@dataclass
class Tariff:
    """Duty expressions by tariff code, with optional origin-specific lines.

    ``lines[code]`` is the base (third-country) duty; ``by_origin[(code, origin)]``
    replaces it for goods of that origin (a preference or a trade remedy rate).
    """

    lines: dict[str, Expr] = field(default_factory=dict)
    by_origin: dict[tuple[str, str], Expr] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    name: str = ""

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], *, name: str = "") -> "Tariff":
        """Build from records ``{"code": "6109", "duty": "12%", "origin": "CN"}``.

        ``origin`` (or ``origins``, a list) is optional; ``duty`` is a rate string
        or an expression tree.  A rate that does not parse raises TariffSyntaxError
        naming the record.
        """
        t = cls(name=name)
        for n, rec in enumerate(records):
            unknown = set(rec) - {"code", "duty", "origin", "origins", "source", "description"}
            if unknown:
                raise TariffError(f"record {n}: unknown keys {sorted(unknown)}")
            if "code" not in rec or "duty" not in rec:
                raise TariffError(f"record {n}: needs 'code' and 'duty'")
            code = _check_code(rec["code"])
            duty = rec["duty"]
            try:
                expr = parse(duty) if isinstance(duty, str) else duty
            except TariffSyntaxError as exc:
                raise TariffSyntaxError(f"record {n} (code {code}): {exc.args[0]}", exc.text, exc.position) from None
            origins = rec.get("origins", [rec["origin"]] if rec.get("origin") else [])
            text = duty if isinstance(duty, str) else str(duty)
            if origins:
                for o in origins:
                    t.by_origin[(code, o)] = expr
                    t.texts[(code, o)] = text
            else:
                if code in t.lines:
                    raise TariffError(f"record {n}: code {code} appears twice")
                t.lines[code] = expr
                t.texts[(code, "")] = text
        return t

    @classmethod
    def from_csv(cls, path: str, *, name: str = "") -> "Tariff":
        """Our own CSV schema: columns code, duty, and optionally origin, description, source."""
        import csv
        with open(path, newline="", encoding="utf-8") as f:
            rows = [{k: v for k, v in r.items() if k in ("code", "duty", "origin", "description", "source") and v}
                    for r in csv.DictReader(f)]
        return cls.from_records(rows, name=name or str(path))

    def to_records(self) -> list[dict[str, str]]:
        out = [{"code": c, "duty": self.texts.get((c, ""), str(e))} for c, e in sorted(self.lines.items())]
        out += [{"code": c, "origin": o, "duty": self.texts.get((c, o), str(e))}
                for (c, o), e in sorted(self.by_origin.items())]
        return out

    def lookup(self, code: str, origin: str | None = None) -> tuple[Expr, str] | None:
        """The expression for an item code and origin, and the line it came from."""
        if origin:
            for n in range(len(code), 1, -1):
                e = self.by_origin.get((code[:n], origin))
                if e is not None:
                    return e, code[:n]
        for n in range(len(code), 1, -1):
            e = self.lines.get(code[:n])
            if e is not None:
                return e, code[:n]
        return None

    @property
    def content_hash(self) -> str:
        blob = json.dumps(self.to_records(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def __len__(self) -> int:
        return len(self.lines) + len(self.by_origin)
