"""datasheet.md/.html: seven sections, facts from the release folder, steward answers, unanswered marked."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from test_api import make_release

from fhirmony.publish.datasheet import QUESTIONS, SECTIONS, load_answers, write_datasheet


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "rel-datasheet")


def test_all_seven_sections_and_every_question(release: Path) -> None:
    markdown, page = write_datasheet(release, None)
    text = markdown.read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == list(SECTIONS.values())
    assert len(headings) == 7
    for _, question, _ in QUESTIONS:
        assert f"### {question}" in text
    body = page.read_text()
    for title in SECTIONS.values():
        assert f">{html.escape(title)}</h2>" in body


def test_facts_come_from_the_release(release: Path) -> None:
    text = write_datasheet(release, None)[0].read_text()
    assert "50 rows in 4 tables about 10 individuals, from 2 sources in 2 countries." in text
    assert "| encounter | 12 | 8 | 20 |" in text
    assert "| observation | value_unit | 40.0% |" in text
    assert "fhir.resources R4B (the FHIR 4.3.0 models) for R4 content" in text
    assert "Privacy profile `gdpr-pseudonymised`" in text
    assert "k-anonymity k = " in text
    assert "| plausible_unit | observation | value_unit | us-mimic | convention | 1 | 4 |" in text
    assert "ODbL-1.0 (https://opendatacommons.org/licenses/odbl/1-0/)" in text
    assert "http://loinc.org" in text


def test_steward_answers_fill_questions_and_the_rest_is_marked(release: Path, tmp_path: Path) -> None:
    answers_file = tmp_path / "datasheet.yaml"
    answers_file.write_text(
        "motivation:\n  funding: EU Horizon grant 123 <b>\ncollection.consent: Broad consent (MII template).\n"
    )
    answers = load_answers(answers_file)
    assert answers["motivation.funding"] == "EU Horizon grant 123 <b>"
    markdown, page = write_datasheet(release, answers)
    text = markdown.read_text()
    assert "EU Horizon grant 123" in text
    assert "Broad consent (MII template)." in text
    assert "`motivation.funding:`" not in text
    assert "**Unanswered** — the steward answers it with `collection.ethics:`" in text
    unanswered = text.count("**Unanswered**")
    assert f"**{unanswered} questions are still unanswered.**" in text
    body = page.read_text()
    assert "EU Horizon grant 123 &lt;b&gt;" in body
    assert body.count('class="unanswered"') == unanswered


def test_without_answers_more_is_unanswered(release: Path) -> None:
    without = write_datasheet(release, None)[0].read_text().count("**Unanswered**")
    with_one = write_datasheet(release, {"uses.avoid": "Re-identification."})[0].read_text().count("**Unanswered**")
    assert with_one == without - 1


def test_source_counts_and_quarantine_appear(release: Path) -> None:
    text = write_datasheet(release, None)[0].read_text()
    assert "| de-mii | 37 | 36 | 1 |" in text
    assert "in proportions train 80 / validation 10 / test 10 within every country" in text
