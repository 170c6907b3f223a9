"""Clinical content of the demo: conditions, labs, vitals, medications, procedures, with per-country codes.

Codes are real (ICD-10-CM/-GM/WHO, LOINC, UCUM, ATC, RxNorm, SNOMED CT, OPS, CVX); the patients are not.
Lab values are drawn in SI units and converted to each country's convention.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
OPS = "http://fhir.de/CodeSystem/bfarm/ops"
ATC_DE = "http://fhir.de/CodeSystem/bfarm/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


@dataclass(frozen=True, slots=True)
class ConditionKind:
    key: str
    snomed: str
    display: str
    icd10cm: str  # US
    icd10gm: str  # DE
    icd10: str  # WHO, as the Norwegian registry writes it (no dot)
    prevalence: float  # share of patients who have it
    chronic: bool
    medication: str | None = None  # key into MEDICATIONS


CONDITIONS: tuple[ConditionKind, ...] = (
    ConditionKind("t2d", "44054006", "Diabetes mellitus type 2", "E11.9", "E11.90", "E119", 0.12, True, "metformin"),
    ConditionKind("htn", "38341003", "Hypertensive disorder", "I10", "I10.90", "I10", 0.30, True, "amlodipine"),
    ConditionKind("hld", "55822004", "Hyperlipidemia", "E78.5", "E78.5", "E785", 0.20, True, "atorvastatin"),
    ConditionKind("asthma", "195967001", "Asthma", "J45.909", "J45.9", "J459", 0.08, True, "salbutamol"),
    ConditionKind(
        "copd", "13645005", "Chronic obstructive lung disease", "J44.9", "J44.99", "J449", 0.05, True, "tiotropium"
    ),
    ConditionKind("ckd3", "433144002", "Chronic kidney disease stage 3", "N18.30", "N18.3", "N183", 0.04, True),
    ConditionKind("dep", "35489007", "Depressive disorder", "F32.9", "F32.9", "F329", 0.10, True, "sertraline"),
    ConditionKind("uri", "54150009", "Upper respiratory infection", "J06.9", "J06.9", "J069", 0.35, False),
    ConditionKind("lbp", "279039007", "Low back pain", "M54.50", "M54.5", "M545", 0.15, False, "ibuprofen"),
    ConditionKind(
        "uti", "68566005", "Urinary tract infectious disease", "N39.0", "N39.0", "N390", 0.10, False, "nitrofurantoin"
    ),
)

# `invalid_code`: codes in no ICD-10 edition that no ICD-10 code format admits either (a decimal comma,
# lower case, a stray dot or hyphen, too many digits, a lost chapter letter), as typed into the source.
INVALID_ICD10 = ("E11,9", "e11.9", "I10.", "N39-0", "Z99.99999", "11.9")
INVALID_ICD10_NODOT = ("E11,9", "e119", "I10.", "N39-0", "Z999999", "119")


@dataclass(frozen=True, slots=True)
class LabKind:
    """One analyte. `mass_*` is the mass-concentration convention (US), `si_*` the SI one (DE, NO)."""

    key: str
    si_unit: str  # UCUM
    si_loinc: str
    si_display: str
    mass_unit: str  # UCUM
    mass_loinc: str
    mass_display: str
    factor: float  # mass value = SI value × factor
    mean: float  # SI, healthy adult
    sd: float
    low: float  # plausibility bounds (SI), those of quality/catalogue/labs.yaml; `out_of_range` lies beyond
    high: float
    no_code: str  # the Norwegian registry's local code
    no_name: str
    molar_mass: float | None = None  # g/mol, when mass ↔ molar conversion applies


LABS: tuple[LabKind, ...] = (
    LabKind(
        "glucose",
        "mmol/L",
        "14749-6",
        "Glucose [Moles/volume] in Serum or Plasma",
        "mg/dL",
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        18.0156,
        5.6,
        1.2,
        0.3,
        110.0,
        "S-GLU",
        "Glukose",
        180.156,
    ),
    LabKind(
        "cholesterol",
        "mmol/L",
        "14647-2",
        "Cholesterol [Moles/volume] in Serum or Plasma",
        "mg/dL",
        "2093-3",
        "Cholesterol [Mass/volume] in Serum or Plasma",
        38.6654,
        5.0,
        1.0,
        0.8,
        40.0,
        "S-KOL",
        "Kolesterol",
        386.654,
    ),
    LabKind(
        "triglycerides",
        "mmol/L",
        "14927-8",
        "Triglyceride [Moles/volume] in Serum or Plasma",
        "mg/dL",
        "2571-8",
        "Triglyceride [Mass/volume] in Serum or Plasma",
        88.57,
        1.4,
        0.6,
        0.06,
        115.0,
        "S-TG",
        "Triglyserider",
        885.7,
    ),
    LabKind(
        "creatinine",
        "umol/L",
        "14682-9",
        "Creatinine [Moles/volume] in Serum or Plasma",
        "mg/dL",
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        1 / 88.42,
        80.0,
        18.0,
        4.0,
        3500.0,
        "S-KREA",
        "Kreatinin",
        113.12,
    ),
    LabKind(
        "hemoglobin",
        "g/dL",
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        "g/dL",
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        1.0,
        14.0,
        1.4,
        1.0,
        25.0,
        "B-HB",
        "Hemoglobin",
    ),
    LabKind(
        "potassium",
        "mmol/L",
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        1.0,
        4.2,
        0.4,
        1.0,
        12.0,
        "S-K",
        "Kalium",
    ),
    LabKind(
        "sodium",
        "mmol/L",
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        1.0,
        140.0,
        3.0,
        90.0,
        200.0,
        "S-NA",
        "Natrium",
    ),
)

# Local codes no mapping knows: the Norwegian registry's `unmapped_code` defect.
UNMAPPED_LAB_CODES = ("S-XYZ", "P-GLU-GAMMEL", "S-CRP2")


@dataclass(frozen=True, slots=True)
class VitalKind:
    key: str
    loinc: str
    display: str
    unit: str  # UCUM, SI
    us_unit: str  # UCUM, US customary
    us_factor: float
    mean: float
    sd: float
    no_code: str


VITALS: tuple[VitalKind, ...] = (
    VitalKind("systolic", "8480-6", "Systolic blood pressure", "mm[Hg]", "mm[Hg]", 1.0, 128.0, 15.0, "BT_S"),
    VitalKind("diastolic", "8462-4", "Diastolic blood pressure", "mm[Hg]", "mm[Hg]", 1.0, 80.0, 9.0, "BT_D"),
    VitalKind("heart_rate", "8867-4", "Heart rate", "/min", "/min", 1.0, 72.0, 10.0, "PULS"),
    VitalKind("weight", "29463-7", "Body weight", "kg", "[lb_av]", 2.20462, 78.0, 15.0, "VEKT"),
    VitalKind("height", "8302-2", "Body height", "cm", "[in_i]", 1 / 2.54, 172.0, 9.0, "HOYDE"),
)


@dataclass(frozen=True, slots=True)
class MedicationKind:
    key: str
    atc: str
    name: str
    rxnorm: str
    rxnorm_display: str


MEDICATIONS: dict[str, MedicationKind] = {
    m.key: m
    for m in (
        MedicationKind("metformin", "A10BA02", "Metformin", "860975", "metformin hydrochloride 500 MG Oral Tablet"),
        MedicationKind("amlodipine", "C08CA01", "Amlodipin", "197361", "amlodipine 5 MG Oral Tablet"),
        MedicationKind("atorvastatin", "C10AA05", "Atorvastatin", "617312", "atorvastatin 20 MG Oral Tablet"),
        MedicationKind(
            "salbutamol", "R03AC02", "Salbutamol", "245314", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"
        ),
        MedicationKind("tiotropium", "R03BB04", "Tiotropium", "485032", "tiotropium 0.018 MG Inhalation Powder"),
        MedicationKind("sertraline", "N06AB06", "Sertralin", "312940", "sertraline 50 MG Oral Tablet"),
        MedicationKind("ibuprofen", "M01AE01", "Ibuprofen", "197806", "ibuprofen 600 MG Oral Tablet"),
        MedicationKind("nitrofurantoin", "J01XE01", "Nitrofurantoin", "311995", "nitrofurantoin 100 MG Oral Capsule"),
    )
}


@dataclass(frozen=True, slots=True)
class ProcedureKind:
    snomed: str
    display: str
    ops: str  # DE
    ops_display: str


PROCEDURES: tuple[ProcedureKind, ...] = (
    ProcedureKind("29303009", "Electrocardiographic procedure", "1-207.0", "Elektrokardiographie"),
    ProcedureKind("399208008", "Plain chest X-ray", "3-100.0", "Röntgen des Thorax"),
    ProcedureKind("73761001", "Colonoscopy", "1-650.2", "Diagnostische Koloskopie"),
    ProcedureKind("16310003", "Ultrasonography of abdomen", "3-05d", "Sonographie des Abdomens"),
)

IMMUNIZATIONS: tuple[tuple[str, str], ...] = (
    ("140", "Influenza, seasonal, injectable, preservative free"),
    ("208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"),
    ("115", "Tdap"),
)

ALLERGIES: tuple[tuple[str, str], ...] = (
    ("91936005", "Allergy to penicillin"),
    ("300913006", "Shellfish allergy"),
    ("91935009", "Allergy to peanuts"),
    ("418689008", "Allergy to grass pollen"),
)
