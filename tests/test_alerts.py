"""The documented alerting rules: valid for Prometheus, and firing when they should."""

from analytics_app import ROOT

from prometheus import promtool

RULES = ROOT / "docs" / "prometheus"


def test_the_alerting_rules_are_valid():
    checked = promtool("check", "rules", str(RULES / "alerts.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_on_a_rollup_that_never_ran_and_on_slow_ingest_on_either_path():
    tested = promtool("test", "rules", str(RULES / "alerts.test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_operations_guide_points_at_the_rules_it_describes():
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert "docs/prometheus/alerts.yml" in guide
    for alert in ("AnalyticsRollupStalled", "AnalyticsIngestSlow", "AnalyticsRedisUnreachable"):
        assert alert in (RULES / "alerts.yml").read_text()
        assert alert in guide
