"""The release licence and attribution, derived from the licences of its sources.

Rules, strictest first (docs/release.md):

1. any ODbL-1.0 source → the release is ODbL-1.0 (share-alike for derived databases), with
   the PhysioNet citation for MIMIC-IV sources and attribution of every other source;
2. else any CC-BY-SA-4.0 source → CC-BY-SA-4.0; ODbL and CC-BY-SA together cannot be combined;
3. else any CC-BY-4.0 source → CC-BY-4.0;
4. else any Apache-2.0 source → Apache-2.0 (CC0, PDDL and public-domain content may be
   relicensed; Apache-2.0 content keeps its notices, listed in the attribution);
5. else (CC0-1.0, PDDL-1.0, public domain only) → CC0-1.0.

A licence outside this list stops the release: it needs a human decision (`release.licence`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PHYSIONET_CITATION = (
    "Johnson A, Bulgarelli L, Pollard T, Horng S, Celi LA, Mark R. MIMIC-IV Clinical Database Demo "
    "(version 2.2). PhysioNet (2023). https://doi.org/10.13026/07hj-2a80. "
    "Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new research "
    "resource for complex physiologic signals. Circulation 101(23):e215-e220 (2000)."
)
ODBL_NOTICE = (
    "This database is made available under the Open Database License "
    "(https://opendatacommons.org/licenses/odbl/1-0/): derived databases must be shared under ODbL-1.0."
)
LICENCE_URLS = {
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
    "MIT": "https://opensource.org/license/mit",
}
_ALIASES = {
    "odbl": "ODbL-1.0",
    "odbl10": "ODbL-1.0",
    "ccbysa40": "CC-BY-SA-4.0",
    "ccbysa": "CC-BY-SA-4.0",
    "ccby40": "CC-BY-4.0",
    "ccby": "CC-BY-4.0",
    "apache20": "Apache-2.0",
    "apache": "Apache-2.0",
    "apachelicense20": "Apache-2.0",
    "cc0": "CC0-1.0",
    "cc010": "CC0-1.0",
    "pddl": "PDDL-1.0",
    "pddl10": "PDDL-1.0",
    "publicdomain": "PDDL-1.0",
    "mit": "MIT",
}
_PERMISSIVE_NOTICE = {"Apache-2.0", "MIT"}  # content licences that keep a notice but allow relicensing
_PUBLIC = {"CC0-1.0", "PDDL-1.0"}
_SHARE_ALIKE = {"ODbL-1.0", "CC-BY-SA-4.0"}


class LicenceError(ValueError):
    """Source licences that cannot be combined automatically; set `release.licence` after review."""


def normalize_licence(text: str) -> str:
    """An SPDX id for the common spellings (`ODbL 1.0`, `cc0`, `Apache License 2.0`, ...)."""
    key = re.sub(r"[^a-z0-9]", "", text.lower().replace("v1.0", "10"))
    key = key.removesuffix("license").removesuffix("licence")
    if key in _ALIASES:
        return _ALIASES[key]
    if "opendatabase" in key:
        return "ODbL-1.0"
    for spdx in LICENCE_URLS:
        if re.sub(r"[^a-z0-9]", "", spdx.lower()) == key:
            return spdx
    raise LicenceError(f"unrecognised licence {text!r}: use an SPDX id such as {', '.join(LICENCE_URLS)}")


def _field(source: Mapping[str, Any] | Any, name: str) -> Any:
    return source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)


def is_mimic(source: Mapping[str, Any] | Any) -> bool:
    text = " ".join(str(_field(source, n) or "") for n in ("format", "id", "name")).lower()
    return "mimic" in text


def derive_licence(sources: Iterable[Mapping[str, Any] | Any], declared: str | None = None) -> tuple[str, str]:
    """(SPDX licence of the release, attribution text) from sources with id, licence, format, name.

    `declared` (`release.licence` in fhirmony.yaml) overrides the derived licence, except that a
    share-alike licence a source imposes cannot be replaced by another one.
    """
    licence, _ = _derive(list(sources))
    if declared is None:
        return licence, attribution(list(sources), _licences(list(sources)), licence)
    chosen = normalize_licence(declared)
    if licence in _SHARE_ALIKE and chosen != licence:
        raise LicenceError(f"release.licence {declared!r} conflicts with a source licensed {licence} (share-alike)")
    return chosen, attribution(list(sources), _licences(list(sources)), chosen)


def _licences(items: list[Any]) -> dict[str, str]:
    return {str(_field(s, "id")): normalize_licence(str(_field(s, "licence"))) for s in items}


def _derive(items: list[Any]) -> tuple[str, dict[str, str]]:
    if not items:
        raise LicenceError("a release needs at least one source to derive its licence")
    licences = _licences(items)
    found = set(licences.values())
    if "ODbL-1.0" in found and "CC-BY-SA-4.0" in found:
        raise LicenceError("ODbL-1.0 and CC-BY-SA-4.0 sources are both share-alike and cannot be combined")
    for candidate in ("ODbL-1.0", "CC-BY-SA-4.0", "CC-BY-4.0"):
        if candidate in found:
            licence = candidate
            break
    else:
        licence = "Apache-2.0" if found & _PERMISSIVE_NOTICE else "CC0-1.0"
    unknown = found - {"ODbL-1.0", "CC-BY-SA-4.0", "CC-BY-4.0"} - _PERMISSIVE_NOTICE - _PUBLIC
    if unknown:
        raise LicenceError(f"no combination rule for {sorted(unknown)}")
    return licence, licences


def attribution(items: list[Any], licences: Mapping[str, str], licence: str) -> str:
    lines = [f"Released under {licence} ({LICENCE_URLS[licence]})."]
    if licence == "ODbL-1.0":
        lines.append(ODBL_NOTICE)
    lines.append("Contains data from:")
    for source in items:
        source_id = str(_field(source, "id"))
        name = _field(source, "name")
        label = f"{name} ({source_id})" if name else source_id
        lines.append(f"- {label}, {licences[source_id]}")
    if any(is_mimic(s) for s in items):
        lines.append(f"Cite: {PHYSIONET_CITATION}")
    return "\n".join(lines)
