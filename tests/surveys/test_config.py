"""config/surveys.yml: the shipped rules validate and say what each moment asks; mistakes fail with the key named."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.surveys.config import DEFAULT_PATH, MOMENTS, SurveyConfigError, load_config, parse_config


def _raw() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PATH.read_text())


def test_the_shipped_config_caps_surveys_as_the_cx_playbook_asks() -> None:
    config = load_config()
    assert config.days_between_surveys == 7 and config.per_conversation == 1
    assert config.nps_per_quarter == 1 and config.nps_while_issue_open is False
    assert config.moments == {"journey_resolved": ("csat",), "request_done": ("nps", "ces")}
    assert (config.scale("ces").lowest, config.scale("ces").highest) == (1, 7)
    assert (config.scale("nps").lowest, config.scale("nps").highest) == (0, 10)
    assert config.scale("ces").labels[1] == "Very difficult" and config.scale("nps").labels[10] == "Extremely likely"


def test_every_moment_the_actions_report_is_configured() -> None:
    assert set(load_config().moments) == set(MOMENTS)


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda d: d["caps"].update(days_between_surveys=-1), "caps.days_between_surveys"),
        (lambda d: d["caps"].update(per_conversation="one"), "caps.per_conversation"),
        (lambda d: d["caps"].update(nps_while_issue_open="no"), "caps.nps_while_issue_open"),
        (lambda d: d["caps"].update(weekly=1), "caps: unknown keys weekly"),
        (lambda d: d["moments"].update(request_done=["nps", "sms"]), "moments.request_done"),
        (lambda d: d["moments"].update(request_done=["csat"]), "CSAT rates a journey"),
        (lambda d: d["moments"].pop("journey_resolved"), "moments.journey_resolved is missing"),
        (lambda d: d["surveys"]["ces"]["answers"].update({8: ["amazing"]}), "surveys.ces.answers: 8"),
        (lambda d: d["surveys"]["nps"]["labels"].update({11: "More than extremely"}), "surveys.nps.labels: 11"),
        (lambda d: d["surveys"]["ces"]["answers"][1].append("easy"), "'easy' means both"),
        (lambda d: d["surveys"]["nps"].pop("question"), "surveys.nps.question"),
        (lambda d: d["surveys"].pop("nps"), "surveys: nps missing"),
    ],
)
def test_a_mistake_is_refused_with_its_key_named(change, key: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(SurveyConfigError, match=key.replace(".", r"\.").replace("(", r"\(")):
        parse_config(raw)


def test_another_file_can_be_named_in_the_environment(tmp_path, monkeypatch) -> None:
    raw = _raw()
    raw["caps"]["days_between_surveys"] = 14
    path = tmp_path / "surveys.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("TANDEM_SURVEYS_CONFIG", str(path))
    assert load_config().days_between_surveys == 14
    path.write_text("caps: [")
    with pytest.raises(SurveyConfigError, match="not valid YAML"):
        load_config()
