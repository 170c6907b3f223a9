"""De-identification: allow-lists, keyed pseudonyms, per-patient date shifts, splits, k-anonymity.

profile = load_profile("gdpr-pseudonymised")
key = load_key(config.privacy)
out = deidentify_table("encounter", table, profile, key)
"""

from fhirmony.privacy.keys import MissingKeyError, load_key
from fhirmony.privacy.profiles import Profile, ProfileError, available_profiles, load_profile
from fhirmony.privacy.pseudonyms import assign_split, date_offset_days, pseudonym
from fhirmony.privacy.release import k_anonymity_report, read_table, suppress_in_place
from fhirmony.privacy.report import column_plan, privacy_report, profile_steps
from fhirmony.privacy.risk import RiskResult, apply_suppression, measure_risk, suppress
from fhirmony.privacy.scan import Leak, identifying_strings, redact_quarantine_summary, scan_release
from fhirmony.privacy.transform import deidentify_table, is_id_column

__all__ = [
    "Leak",
    "MissingKeyError",
    "Profile",
    "ProfileError",
    "RiskResult",
    "apply_suppression",
    "assign_split",
    "available_profiles",
    "column_plan",
    "date_offset_days",
    "deidentify_table",
    "identifying_strings",
    "is_id_column",
    "k_anonymity_report",
    "load_key",
    "load_profile",
    "measure_risk",
    "privacy_report",
    "profile_steps",
    "pseudonym",
    "read_table",
    "redact_quarantine_summary",
    "scan_release",
    "suppress",
    "suppress_in_place",
]
