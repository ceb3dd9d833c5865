"""report.md and report.html read like a verdict: one sentence per comparison first, the plots
before the long tables, every metric's unit and direction named, nothing wider than a laptop."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from evals.report import verdict, write_reports
from evals.stats import paired_comparison

METRICS = [f"{m}@{k}" for k in (1, 5, 10) for m in ("ndcg", "hr", "precision", "map", "f1")] + ["mrr@10"]


def comparison(diff, low, high, p, n=100):
    return {"n": n, "diff": diff, "ci_low": low, "ci_high": high, "p_value": p}


def test_a_win_with_the_ci_above_zero_is_significant():
    assert verdict("fusion", "ease", "ndcg@10", comparison(0.014, 0.004, 0.025, 0.01)) == (
        "fusion beats ease on NDCG@10 by +0.014 (95% CI +0.004 to +0.025, p 0.010): significant.")


def test_a_loss_reads_as_one():
    assert verdict("itemknn", "ease", "ndcg@10", comparison(-0.061, -0.087, -0.035, 0.0005)) == (
        "itemknn loses to ease on NDCG@10 by −0.061 (95% CI −0.087 to −0.035, p < 0.001): significant.")


def test_a_ci_across_zero_with_a_large_p_is_not_significant():
    assert verdict("fusion", "ease", "ndcg@10", comparison(0.014, -0.003, 0.030, 0.09)) == (
        "fusion beats ease on NDCG@10 by +0.014 (95% CI −0.003 to +0.030, p 0.090): not significant.")


def test_when_the_ci_and_the_p_value_disagree_the_sentence_says_why():
    ci_only = verdict("fusion", "ease", "ndcg@10", comparison(0.048, 0.005, 0.098, 0.087))
    assert ci_only.startswith("fusion beats ease on NDCG@10 by +0.048 (95% CI +0.005 to +0.098, p 0.087): "
                              "borderline; the bootstrap CI excludes zero but the permutation p is not below 0.05.")
    assert "different tests" in ci_only and "neither a win nor a tie" in ci_only
    p_only = verdict("fusion", "ease", "ndcg@10", comparison(0.02, -0.001, 0.04, 0.03))
    assert "borderline; the permutation p is below 0.05 but the bootstrap CI includes zero." in p_only


def test_a_difference_that_rounds_to_zero_is_a_tie_and_too_few_users_are_no_test():
    assert verdict("itemknn", "ease", "ndcg@10", comparison(-0.0002, -0.048, 0.053, 0.99)).startswith(
        "itemknn ties with ease on NDCG@10 (−0.000, 95% CI −0.048 to +0.053, p 0.990)")
    assert verdict("a", "b", "hr@10", {"n": 1, "diff": 1.0, "ci_low": None, "ci_high": None,
                                       "p_value": None}) == "a against b on HR@10: 1 paired user(s), too few to test."


def test_planted_differences_through_the_real_statistics():
    rng = np.random.default_rng(0)
    base = rng.random(300)
    better, worse = base + 0.1 + rng.normal(0, 0.05, 300), base - 0.1 + rng.normal(0, 0.05, 300)
    assert re.fullmatch(r"fusion beats ease on NDCG@10 by \+0\.1\d\d \(95% CI \+0\.\d{3} to \+0\.\d{3}, "
                        r"p (< )?0\.001\): significant\.", verdict("fusion", "ease", "ndcg@10", paired_comparison(better, base)))
    assert verdict("random", "ease", "ndcg@10", paired_comparison(worse, base)).startswith("random loses to ease")


def planted_run(folder, users=60):
    """A run folder by hand: ease (baseline), fusion clearly better, fusion-llm paired against
    fusion (its compare_to) with no real difference."""
    rng = np.random.default_rng(1)
    base = {m: rng.random(users) for m in METRICS}
    values = {"ease": base, "fusion": {m: np.clip(v + 0.15, 0, 1) for m, v in base.items()}}
    values["fusion-llm"] = {m: np.clip(v + rng.normal(0, 0.05, users), 0, 1) for m, v in values["fusion"].items()}
    extra = {"ild_categories": lambda: rng.random(users), "ild_embeddings": lambda: rng.random(users),
             "novelty": lambda: rng.uniform(100, 5000, users)}
    for v in values.values():
        v.update({m: f() for m, f in extra.items()})
    names = [*METRICS, *extra]

    def paired(a, b):
        return {m: paired_comparison(values[a][m], values[b][m], resamples=500) for m in names}

    variants = {n: {"kind": "fusion" if n != "ease" else "classic", "coverage": 0.5, "llm": None,
                    "metrics": {m: round(float(np.mean(values[n][m])), 6) for m in names}} for n in values}
    variants["fusion"]["vs_baseline"] = paired("fusion", "ease")
    variants["fusion-llm"]["vs_baseline"] = paired("fusion-llm", "ease")
    variants["fusion-llm"]["vs_reference"] = {"variant": "fusion", "metrics": paired("fusion-llm", "fusion")}
    summary = {"suite": "planted", "protocol": {"kind": "sampled"}, "k": [1, 5, 10], "baseline": "ease",
               "references": [], "users": {"evaluated": users, "seed": 0, "eligible": users},
               "candidates": {"held_out_item_included": 1.0}, "statistics": {"resamples": 500}, "variants": variants}
    rows = [{"variant": n, "kind": variants[n]["kind"], "user": str(u),
             "metrics": {m: float(values[n][m][u]) for m in METRICS}} for n in values for u in range(users)]
    write_reports(folder, summary, rows)
    return (folder / "report.md").read_text(), (folder / "report.html").read_text()


def test_the_report_opens_with_the_verdicts_and_shows_plots_before_the_long_tables(tmp_path):
    md, page = planted_run(tmp_path)
    lines = md.splitlines()
    assert lines[:3] == ["# Eval: planted", "", "## Verdict"]
    sentences = [line[2:] for line in lines if line.startswith("- ")]
    pairs = [re.match(r"(\S+) (?:beats|loses to|ties with) (\S+) on NDCG@10 ", s).groups() for s in sentences]
    assert pairs == [("fusion", "ease"), ("fusion-llm", "ease"), ("fusion-llm", "fusion")]  # baseline, then compare_to
    assert sentences[0].startswith("fusion beats ease") and sentences[0].endswith(": significant.")
    assert md.index(sentences[-1]) < md.index("Protocol **sampled**")
    assert "<li>fusion beats ease on NDCG@10" in page
    assert page.index("<h2>Verdict</h2>") < page.index("<svg") < page.index("Paired differences against ease")


def test_every_metric_names_its_unit_and_direction(tmp_path):
    md, _ = planted_run(tmp_path)
    novelty = next(line for line in md.splitlines() if line.startswith("| fusion | novelty |"))
    assert novelty.endswith("| rank positions, higher = less popular items |")
    assert "| novelty | mean popularity rank of a list's items in the training rows (1 = the most popular) |" in md
    assert "### Ranking accuracy (0–1, higher is better)" in md


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (installed by .ci/run)")
def test_report_html_fits_a_1280_pixel_screen(tmp_path):
    _, page = planted_run(tmp_path)
    probe = tmp_path / "probe.html"  # the page, plus a script that writes its laid-out width into the DOM
    probe.write_text(page.replace("</body>", "<script>document.body.dataset.width = "
                                  "document.documentElement.scrollWidth - window.innerWidth</script></body>"))
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    overflow = re.search(r'data-width="(-?\d+)"', dom)
    assert overflow and int(overflow.group(1)) <= 0, "report.html is wider than a 1280 px window"
