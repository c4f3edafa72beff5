"""What the seed page (the clinic's page on chronic pain after spine surgery) says, transcribed by
hand from the page, independently of kg/.

Tests about the seed's content assert that these are present, never that nothing else is: kg/
grows with every page, and a second page may add facts and relations to the same entities.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE = "clinic-page"
PAGE_TITLE = "What is Spine Surgery Pain"
FBSS = "failed-back-surgery-syndrome"
PAIN_MEDICINE = "pain-medicine"

# The claim the seed page makes that kg/ did not hold before issue 9.
MISSING_CLAIM = "The incidence of surgery for back pain is increasing."


@dataclass(frozen=True)
class SeedStatistic:
    """One number of the seed page, as the page gives it (ids of the graph, values as text)."""

    kind: str  # Proportion, Count or RelativeChange
    about: frozenset[str]
    measure: str
    value: str | None
    low: str | None
    high: str | None
    unit: str
    qualifier: str | None
    population: str
    region: str | None
    period: str | None
    cited: str | None


STATISTICS = {
    "back-pain-lifetime-prevalence": SeedStatistic(
        "Proportion",
        frozenset({"back-pain"}),
        "lifetime-prevalence",
        "85",
        None,
        None,
        "percent",
        "almost",
        "adults",
        None,
        "at some point during their lifetime",
        None,
    ),
    "spinal-fusion-increase": SeedStatistic(
        "RelativeChange",
        frozenset({"spinal-fusion"}),
        "relative-change",
        "220",
        None,
        None,
        "percent",
        None,
        "spinal fusion surgeries",
        None,
        "one recent 10-year period",
        None,
    ),
    "laminectomy-discectomy-annual-count": SeedStatistic(
        "Count",
        frozenset({"laminectomy", "discectomy"}),
        "annual-count",
        "200000",
        None,
        None,
        "procedures-per-year",
        "approximately",
        "lumbar laminectomies and discectomies",
        "United States",
        "every year",
        None,
    ),
    "lumbar-fusion-success-rate": SeedStatistic(
        "Proportion",
        frozenset({"spinal-fusion"}),
        "success-rate",
        None,
        "10",
        "40",
        "percent",
        "approximately",
        "lumbar spinal fusions",
        None,
        None,
        PAIN_MEDICINE,
    ),
    "laminectomy-discectomy-success-rate": SeedStatistic(
        "Proportion",
        frozenset({"laminectomy", "discectomy"}),
        "success-rate",
        None,
        "75",
        "80",
        "percent",
        None,
        "laminectomies and discectomies",
        None,
        None,
        PAIN_MEDICINE,
    ),
    "fibrosis-share-of-cases": SeedStatistic(
        "Proportion",
        frozenset({"fbss-cause-epidural-fibrosis"}),
        "share-of-cases",
        None,
        "20",
        "36",
        "percent",
        "approximately",
        "cases of chronic pain after back surgery",
        None,
        None,
        None,
    ),
}

# id: (what it is about, words of the page it must quote)
CLAIMS = {
    "decompression-success-higher-than-fusion": (
        frozenset({"laminectomy", "discectomy", "spinal-fusion"}),
        "the success rate for laminectomies and discectomies is higher than that of fusions",
    ),
    "success-rate-falls-after-repeat-surgery": (
        frozenset({"spine-surgery"}),
        "after the initial surgery, success rates are progressively reduced",
    ),
    "back-pain-surgery-increasing": (
        frozenset({"back-pain", "spine-surgery"}),
        "the incidence of surgery for back pain is increasing",
    ),
}

FACT_IDS = frozenset(STATISTICS) | frozenset(CLAIMS)

# The condition's relations on the seed page, by id.
SYMPTOMS = frozenset(
    {
        "abnormal-sensation-in-extremities",
        "dull-aching-pain",
        "sharp-pain-in-extremities",
        "stabbing-pain",
    }
)
CAUSES = {  # id: role on the page
    "recurrent-disc-herniation": "main",
    "epidural-fibrosis": "main",
    "spinal-muscular-deconditioning": "main",
    "infection": "other",
    "surgical-technical-error": "other",
    "spinal-stenosis": "other",
    "smoking": "other",
}
TREATMENTS = {  # id: preferred label
    "acetaminophen": "Acetaminophen",
    "acupuncture": "Acupuncture",
    "anticonvulsants": "Anticonvulsants",
    "antidepressants": "Antidepressants",
    "biofeedback": "Biofeedback",
    "epidural-injection": "Epidural injection",
    "muscle-relaxants": "Muscle relaxants",
    "nsaids": "Nonsteroidal anti-inflammatory drugs",
    "opioids": "Opioids",
    "physical-therapy": "Physical therapy",
    "radiofrequency-ablation": "Radiofrequency ablation",
    "selective-nerve-block": "Selective nerve block",
    "tramadol": "Tramadol",
    "vertebroplasty": "Vertebroplasty",
}
INTERVENTIONAL = frozenset(
    {"epidural-injection", "radiofrequency-ablation", "selective-nerve-block", "vertebroplasty"}
)
TESTS = frozenset({"imaging-studies", "patient-examination"})
