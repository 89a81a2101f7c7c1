"""The 19 checks across Articles 9-15 of Regulation (EU) 2024/1689, as data.

Chapter III, Section 2 of the AI Act sets the requirements for high-risk AI systems:
Art. 9 risk management system, Art. 10 data and data governance, Art. 11 technical
documentation (Annex IV), Art. 12 record-keeping, Art. 13 transparency and provision
of information to deployers, Art. 14 human oversight, Art. 15 accuracy, robustness and
cybersecurity. Each :class:`Check` below cites the paragraph it is grounded in, names
the evidence key(s) it reads, and says — as an :class:`EvidenceSpec` — which
structured evidence satisfies it. The ids, articles, severities and evidence keys are
the seed package's, so existing evidence documents keep working.

Where the regulation leaves a number open we chose one and say so in the field's
description: "kept up to date" / "regular systematic review" (Art. 9(2), 11(1)) is
read as *reviewed within the last 365 days*; log retention follows Art. 19(1) and
26(6) ("at least six months", read as 184 days, the longest six calendar months);
a red-team report evidences Art. 15(5) resilience when its ``riskScore`` is at least
0.8 and no critical attack succeeded.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, InvalidType
from .evidence import EvidenceSpec
from .evidence import FieldSpec as F

__all__ = [
    "Article",
    "CHECKS",
    "Check",
    "REGULATION",
    "SEVERITY_WEIGHT",
    "Severity",
    "VALID_SEVERITIES",
    "check_by_id",
    "checks_by_severity",
    "checks_for_article",
]

REGULATION = "Regulation (EU) 2024/1689 (Artificial Intelligence Act)"


class Article(enum.Enum):
    """The articles of Chapter III, Section 2 (requirements for high-risk AI systems)."""

    ART_9 = "Article 9 — Risk management system"
    ART_10 = "Article 10 — Data and data governance"
    ART_11 = "Article 11 — Technical documentation"
    ART_12 = "Article 12 — Record-keeping"
    ART_13 = "Article 13 — Transparency and provision of information to deployers"
    ART_14 = "Article 14 — Human oversight"
    ART_15 = "Article 15 — Accuracy, robustness and cybersecurity"

    @property
    def number(self) -> int:
        return int(self.name[4:])

    @property
    def title(self) -> str:
        return self.value.split(" — ", 1)[1]


Severity = str
"""``"blocker"`` | ``"major"`` | ``"minor"`` (the seed's vocabulary)."""

VALID_SEVERITIES: tuple[Severity, ...] = ("blocker", "major", "minor")
SEVERITY_WEIGHT: dict[Severity, float] = {"blocker": 5.0, "major": 2.0, "minor": 1.0}
"""Default weight per severity: one failed blocker outweighs two majors."""
_SEVERITY_ALIASES = {"blocking": "blocker", "blockers": "blocker"}


@dataclass(frozen=True)
class Check:
    """One article-grounded check.

    The first six fields are the seed's (positional order kept). ``paragraph`` is the
    primary citation (``"9(2)(a)"``: Art. 9(2)(a)), ``also_cites`` further provisions;
    ``satisfied_by`` is the structured evidence that satisfies the check;
    ``supporting_fields`` are further keys whose evidence also counts (and which must
    be valid when present); ``weight`` defaults to the severity's weight.
    """

    id: str
    article: Article
    title: str
    requirement: str
    evidence_field: str
    severity: Severity
    paragraph: str = ""
    satisfied_by: EvidenceSpec | None = None
    remediation: str = ""
    also_cites: tuple[str, ...] = ()
    supporting_fields: tuple[str, ...] = ()
    weight: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not isinstance(self.article, Article):
            raise InvalidType("article must be an Article", argument="article")
        if self.severity not in VALID_SEVERITIES:
            raise InvalidInput(
                f"severity must be one of {', '.join(VALID_SEVERITIES)}, got {self.severity!r}",
                argument="severity",
            )
        if not isinstance(self.evidence_field, str) or not self.evidence_field:
            raise InvalidInput("evidence_field must be a non-empty dotted key",
                               argument="evidence_field")
        if self.weight == 0.0:
            object.__setattr__(self, "weight", SEVERITY_WEIGHT[self.severity])
        elif not self.weight > 0:
            raise InvalidInput("weight must be positive", argument="weight")

    def __getstate__(self) -> dict[str, Any]:
        # evaluate() keeps a per-check plan (with compiled code) in __dict__; not state
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    @property
    def citation(self) -> str:
        """``"Art. 9(2)(a)"`` (or the article alone when no paragraph is set)."""
        return f"Art. {self.paragraph or self.article.number}"

    @property
    def citations(self) -> tuple[str, ...]:
        """Every provision the check rests on, primary first."""
        return (self.citation,) + tuple(
            c if c.startswith("Annex") else f"Art. {c}" for c in self.also_cites
        )

    @property
    def slug(self) -> str:
        """A test-id-friendly form of the citation: ``"art9_2_a"``."""
        text = self.paragraph or str(self.article.number)
        return "art" + text.replace(")(", "_").replace("(", "_").replace(")", "")

    @property
    def evidence_keys(self) -> tuple[str, ...]:
        """Every evidence key the check reads, its own field first."""
        return (self.evidence_field, *self.supporting_fields)

    @property
    def is_blocker(self) -> bool:
        return self.severity == "blocker"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "article": self.article.number,
            "article_title": self.article.title,
            "paragraph": self.paragraph,
            "citations": list(self.citations),
            "title": self.title,
            "requirement": self.requirement,
            "evidence_field": self.evidence_field,
            "evidence_keys": list(self.evidence_keys),
            "severity": self.severity,
            "weight": self.weight,
            "satisfied_by": None if self.satisfied_by is None else self.satisfied_by.to_dict(),
            "remediation": self.remediation,
        }


# ── shared field specs ───────────────────────────────────────────────────────

_YEAR = 365


def _doc(required: bool = True, name: str = "document") -> F:
    return F(name, "ref", "where the document lives: an http(s) URL or a document id/path",
             required=required)


def _reviewed(name: str, what: str, *, max_age: int | None = _YEAR, required: bool = True) -> F:
    return F(name, "date", what, required=required, max_age_days=max_age)


def _list(name: str, what: str, *, required: bool = True, min_items: int = 1) -> F:
    return F(name, "text_list", what, required=required, min_items=min_items)


def _true(name: str, what: str, *, required: bool = True) -> F:
    return F(name, "bool", what, required=required, must_be_true=True)


def _text(name: str, what: str, *, required: bool = True) -> F:
    return F(name, "text", what, required=required)


# ── the checks ───────────────────────────────────────────────────────────────

CHECKS: tuple[Check, ...] = (
    # Article 9 — Risk management system
    Check(
        "EUAIACT-ART9-001", Article.ART_9,
        "Continuous, iterative risk management system",
        "A risk management system is established, implemented, documented and maintained, "
        "run as a continuous iterative process over the whole lifecycle with regular "
        "systematic review and updating (Art. 9(1)-(2)).",
        "metadata.riskManagementSystem", "blocker",
        paragraph="9(1)", also_cites=("9(2)",),
        satisfied_by=EvidenceSpec(
            "the documented risk management system, its owner, and a review within a year",
            (
                _doc(),
                _text("owner", "the person or role accountable for the system"),
                _reviewed("lastReviewed", "date of the last systematic review (Art. 9(2))"),
                _list("lifecycleStages", "lifecycle stages it covers", required=False),
            ),
        ),
        remediation="Document the risk management system (owner, process, lifecycle "
                    "coverage) and review it at least yearly.",
    ),
    Check(
        "EUAIACT-ART9-002", Article.ART_9,
        "Identification and evaluation of foreseeable risks",
        "Known and reasonably foreseeable risks to health, safety and fundamental rights "
        "are identified and analysed, including under reasonably foreseeable misuse "
        "(Art. 9(2)(a)-(b)).",
        "metadata.riskAssessment", "blocker",
        paragraph="9(2)(a)", also_cites=("9(2)(b)",),
        satisfied_by=EvidenceSpec(
            "a dated risk assessment listing the identified risks and foreseeable misuse",
            (
                _list("identifiedRisks", "risks to health, safety and fundamental rights "
                                         "(Art. 9(2)(a))"),
                _list("foreseeableMisuse", "reasonably foreseeable misuse considered "
                                           "(Art. 9(2)(b))"),
                _reviewed("assessedOn", "date of the assessment"),
                _doc(required=False),
            ),
        ),
        remediation="Run and date a risk assessment that lists the risks to health, safety "
                    "and fundamental rights and the foreseeable misuse.",
    ),
    Check(
        "EUAIACT-ART9-003", Article.ART_9,
        "Adoption of risk mitigation measures",
        "Appropriate and targeted risk management measures are adopted to address the "
        "identified risks, leaving an acceptable residual risk (Art. 9(2)(d), 9(5)).",
        "metadata.riskMitigationMeasures", "major",
        paragraph="9(2)(d)", also_cites=("9(5)",),
        satisfied_by=EvidenceSpec(
            "the adopted measures and a judgement that the residual risk is acceptable",
            (
                _list("measures", "risk management measures adopted (Art. 9(2)(d))"),
                _true("residualRiskAcceptable", "residual risk judged acceptable (Art. 9(5))"),
                _doc(required=False),
            ),
        ),
        remediation="List the risk management measures adopted for each identified risk "
                    "and record the residual-risk acceptance.",
    ),
    Check(
        "EUAIACT-ART9-004", Article.ART_9,
        "Testing to identify risk measures",
        "The system is tested to identify the most appropriate risk management measures, "
        "against prior defined metrics and probabilistic thresholds, before it is placed "
        "on the market (Art. 9(6), 9(8)).",
        "metadata.riskTesting", "major",
        paragraph="9(6)", also_cites=("9(8)",),
        satisfied_by=EvidenceSpec(
            "a dated, passed test run against prior defined metrics",
            (
                _list("metrics", "the prior defined metrics and thresholds (Art. 9(8))"),
                _reviewed("testedOn", "date of the test run"),
                _true("passed", "the system met the thresholds"),
                _doc(required=False, name="report"),
            ),
        ),
        remediation="Test the system against metrics and thresholds defined beforehand and "
                    "keep the dated result.",
    ),
    # Article 10 — Data and data governance
    Check(
        "EUAIACT-ART10-001", Article.ART_10,
        "Training/validation/test data governance",
        "Training, validation and testing data sets are subject to data governance and "
        "management practices appropriate for the intended purpose: design choices, data "
        "collection and origin, preparation (Art. 10(2)).",
        "metadata.dataGovernance", "blocker",
        paragraph="10(2)", also_cites=("10(1)",),
        satisfied_by=EvidenceSpec(
            "the data sets governed and where their data comes from",
            (
                _list("datasets", "training, validation and testing data sets"),
                _text("provenance", "data collection processes and origin of the data "
                                    "(Art. 10(2)(b))"),
                _list("preparation", "preparation steps: annotation, labelling, cleaning... "
                                     "(Art. 10(2)(c))", required=False),
                _doc(required=False),
            ),
        ),
        remediation="Document the data sets, their origin and collection, and the "
                    "preparation operations applied to them.",
    ),
    Check(
        "EUAIACT-ART10-002", Article.ART_10,
        "Examination for bias",
        "Data sets are examined for possible biases likely to affect health and safety, "
        "fundamental rights or lead to discrimination, with measures to detect, prevent "
        "and mitigate them (Art. 10(2)(f)-(g)).",
        "metadata.biasExamination", "blocker",
        paragraph="10(2)(f)", also_cites=("10(2)(g)",),
        satisfied_by=EvidenceSpec(
            "a dated bias examination: method, attributes examined, measures taken",
            (
                _text("method", "how the data sets were examined for bias"),
                _list("attributes", "characteristics examined (e.g. sex, age, ethnicity)"),
                _list("mitigations", "measures to detect, prevent and mitigate bias "
                                     "(Art. 10(2)(g))"),
                _reviewed("examinedOn", "date of the examination"),
                _doc(required=False, name="report"),
            ),
        ),
        remediation="Examine the data sets for bias on named attributes, record the method "
                    "and the measures taken, and date it.",
    ),
    Check(
        "EUAIACT-ART10-003", Article.ART_10,
        "Relevant, representative, error-free data sets",
        "Data sets are relevant, sufficiently representative and, to the best extent "
        "possible, free of errors and complete in view of the intended purpose "
        "(Art. 10(3)).",
        "metadata.dataQuality", "major",
        paragraph="10(3)",
        satisfied_by=EvidenceSpec(
            "a dated data-quality assessment with a measured error rate or completeness",
            (
                _text("representativeness", "why the data represent the intended setting"),
                F("errorRate", "number", "measured share of erroneous records", required=False,
                  minimum=0.0, maximum=1.0),
                F("completeness", "number", "measured share of complete records",
                  required=False, minimum=0.0, maximum=1.0),
                _reviewed("assessedOn", "date of the assessment"),
            ),
            require_any=("errorRate", "completeness"),
        ),
        remediation="Measure error rate or completeness of the data sets, justify their "
                    "representativeness, and date the assessment.",
    ),
    # Article 11 — Technical documentation
    Check(
        "EUAIACT-ART11-001", Article.ART_11,
        "Technical documentation drawn up before placing on market",
        "Technical documentation is drawn up before the system is placed on the market and "
        "kept up to date; it contains at least the elements of Annex IV (Art. 11(1)).",
        "metadata.technicalDocumentation", "blocker",
        paragraph="11(1)", also_cites=("Annex IV",),
        satisfied_by=EvidenceSpec(
            "the documentation, covering all nine points of Annex IV, updated within a year",
            (
                _doc(),
                F("annexIvSections", "int_set", "the points of Annex IV (1-9) the "
                  "documentation covers", minimum=1, maximum=9, min_items=9,
                  must_include=tuple(range(1, 10))),
                _reviewed("lastUpdated", "date of the last update (kept up to date)"),
                _text("version", "documentation version", required=False),
            ),
        ),
        remediation="Draw up technical documentation covering every point of Annex IV and "
                    "keep it updated.",
    ),
    Check(
        "EUAIACT-ART11-002", Article.ART_11,
        "Documentation demonstrates conformity",
        "The documentation demonstrates that the system complies with the Section 2 "
        "requirements and gives authorities the information to assess it (Art. 11(1)); "
        "conformity is assessed (Art. 43) and declared (Art. 47).",
        "metadata.conformityEvidence", "major",
        paragraph="11(1)", also_cites=("43", "47"),
        satisfied_by=EvidenceSpec(
            "the conformity assessment procedure followed and the EU declaration of conformity",
            (
                F("assessmentProcedure", "choice", "internal control (Annex VI) or "
                  "assessment with a notified body (Annex VII)",
                  choices=("internal-control", "notified-body")),
                _doc(name="declarationOfConformity"),
                _reviewed("issuedOn", "date the declaration was issued", max_age=None),
                _text("notifiedBodyId", "notified body identification number",
                      required=False),
            ),
        ),
        remediation="Carry out the conformity assessment (Art. 43) and reference the EU "
                    "declaration of conformity (Art. 47).",
    ),
    # Article 12 — Record-keeping
    Check(
        "EUAIACT-ART12-001", Article.ART_12,
        "Automatic logging of events over lifetime",
        "The system technically allows for the automatic recording of events (logs) over "
        "its lifetime (Art. 12(1)); logs are kept for at least six months (Art. 19(1), "
        "26(6)).",
        "metadata.eventLogging", "blocker",
        paragraph="12(1)", also_cites=("19(1)", "26(6)"),
        satisfied_by=EvidenceSpec(
            "automatic logging, kept for at least six months",
            (
                _true("automatic", "events are recorded automatically"),
                F("retentionDays", "integer", "how long logs are kept, in days "
                  "(six months = 184 days)", minimum=184),
                _list("events", "event types recorded", required=False),
            ),
        ),
        remediation="Turn on automatic event logging and keep the logs at least six months.",
    ),
    Check(
        "EUAIACT-ART12-002", Article.ART_12,
        "Logs enable traceability and post-market monitoring",
        "Logging records the events relevant for identifying risk situations and "
        "substantial modifications, post-market monitoring and operation monitoring "
        "(Art. 12(2)(a)-(c)).",
        "metadata.logTraceability", "major",
        paragraph="12(2)",
        satisfied_by=EvidenceSpec(
            "the events recorded and a verifiable sample: a signed receipt or a log sample",
            (
                _list("events", "events recorded for traceability (Art. 12(2)(a)-(c))"),
                F("receipt", "receipt", "a signed receipt from the tamper-evident log "
                  "(openmoe_bft.receipts)", required=False),
                _doc(required=False, name="sample"),
            ),
            require_any=("receipt", "sample"),
        ),
        remediation="Record risk-relevant, monitoring and operation events in a "
                    "tamper-evident log and attach a signed receipt or a log sample.",
    ),
    # Article 13 — Transparency and provision of information to deployers
    Check(
        "EUAIACT-ART13-001", Article.ART_13,
        "Transparency enabling deployers to interpret output",
        "The system is designed and developed so that its operation is sufficiently "
        "transparent for deployers to interpret its output and use it appropriately "
        "(Art. 13(1)).",
        "metadata.transparencyDesign", "blocker",
        paragraph="13(1)",
        satisfied_by=EvidenceSpec(
            "how deployers can interpret the output",
            (
                _text("outputInterpretation", "how a deployer reads and uses the output"),
                _list("explainabilityMethods", "explanation methods provided",
                      required=False),
                _doc(required=False),
            ),
        ),
        remediation="Describe how deployers interpret the system's output and what "
                    "explanations it provides.",
    ),
    Check(
        "EUAIACT-ART13-002", Article.ART_13,
        "Instructions for use provided to deployers",
        "The system is accompanied by instructions for use with concise, complete, correct "
        "and clear information: provider identity and contact, intended purpose, "
        "characteristics, capabilities and limitations (Art. 13(2)-(3)).",
        "metadata.instructionsForUse", "major",
        paragraph="13(2)", also_cites=("13(3)(a)", "13(3)(b)"),
        satisfied_by=EvidenceSpec(
            "the instructions for use with the Art. 13(3) minimum content",
            (
                _doc(),
                _text("provider", "provider identity (Art. 13(3)(a))"),
                F("contact", "contact", "provider contact details (Art. 13(3)(a))"),
                _text("intendedPurpose", "intended purpose (Art. 13(3)(b)(i))"),
                _list("limitations", "known limitations of performance (Art. 13(3)(b))"),
            ),
        ),
        remediation="Publish instructions for use naming the provider and contact, the "
                    "intended purpose and the known limitations.",
    ),
    # Article 14 — Human oversight
    Check(
        "EUAIACT-ART14-001", Article.ART_14,
        "Effective human oversight measures",
        "The system is designed, with appropriate human-machine interface tools, to be "
        "effectively overseen by natural persons while in use; measures are built in or "
        "identified for the deployer (Art. 14(1), 14(3)).",
        "metadata.humanOversight", "blocker",
        paragraph="14(1)", also_cites=("14(3)",),
        satisfied_by=EvidenceSpec(
            "the oversight measures and who exercises them",
            (
                _list("measures", "human oversight measures (Art. 14(3)(a)-(b))"),
                _text("assignedTo", "the natural persons or roles assigned to oversight"),
                F("contact", "contact", "how to reach the oversight person", required=False),
                _text("interface", "the human-machine interface used", required=False),
            ),
        ),
        remediation="Name the persons assigned to oversight and the measures and interface "
                    "they use.",
    ),
    Check(
        "EUAIACT-ART14-002", Article.ART_14,
        "Override / stop intervention capability",
        "Oversight persons can decide not to use the system or disregard, override or "
        "reverse its output, and can interrupt it through a 'stop' button or similar "
        "procedure that halts it in a safe state (Art. 14(4)(d)-(e)).",
        "metadata.overrideControl", "blocker",
        paragraph="14(4)(d)", also_cites=("14(4)(e)",),
        satisfied_by=EvidenceSpec(
            "override and stop controls, and the safe state the system halts in",
            (
                _true("canOverride", "output can be disregarded, overridden or reversed "
                                     "(Art. 14(4)(d))"),
                _true("canStop", "a stop button or similar procedure (Art. 14(4)(e))"),
                _text("safeState", "the safe state the system comes to a halt in"),
                _reviewed("testedOn", "date the stop procedure was last exercised",
                          required=False),
            ),
        ),
        remediation="Provide an override for every output and a stop control that halts "
                    "the system in a documented safe state.",
    ),
    Check(
        "EUAIACT-ART14-003", Article.ART_14,
        "Mitigation of automation bias",
        "Oversight persons are enabled to remain aware of the tendency to over-rely on the "
        "system's output (automation bias) (Art. 14(4)(b)).",
        "metadata.automationBiasMitigation", "minor",
        paragraph="14(4)(b)",
        satisfied_by=EvidenceSpec(
            "the measures that counter automation bias",
            (
                _list("measures", "e.g. confidence display, forced review, training"),
                F("trainingProvided", "bool", "oversight persons are trained on it",
                  required=False),
            ),
        ),
        remediation="Add measures that keep overseers aware of automation bias (confidence "
                    "display, forced review, training).",
    ),
    # Article 15 — Accuracy, robustness and cybersecurity
    Check(
        "EUAIACT-ART15-001", Article.ART_15,
        "Declared accuracy and metrics",
        "The system achieves an appropriate level of accuracy, and the levels of accuracy "
        "and the relevant metrics are declared in the instructions for use (Art. 15(1), "
        "15(3)).",
        "metadata.accuracyMetrics", "major",
        paragraph="15(3)", also_cites=("15(1)",),
        satisfied_by=EvidenceSpec(
            "measured accuracy metrics, declared in the instructions for use",
            (
                F("metrics", "metrics", "metric name -> measured value", min_items=1),
                _true("declaredInInstructions", "declared in the instructions for use "
                                                "(Art. 15(3))"),
                _reviewed("measuredOn", "date of the measurement"),
                _text("dataset", "the test set measured on", required=False),
            ),
        ),
        remediation="Measure accuracy with named metrics, date it, and declare the levels "
                    "in the instructions for use.",
    ),
    Check(
        "EUAIACT-ART15-002", Article.ART_15,
        "Robustness and resilience to errors/faults",
        "The system is as resilient as possible to errors, faults and inconsistencies, "
        "e.g. through redundancy or fail-safe plans, and to feedback loops when it keeps "
        "learning (Art. 15(1), 15(4)).",
        "metadata.robustnessTesting", "major",
        paragraph="15(4)", also_cites=("15(1)",),
        satisfied_by=EvidenceSpec(
            "a dated, passed robustness test naming its methods",
            (
                _list("methods", "robustness tests run (fault injection, perturbation...)"),
                _reviewed("testedOn", "date of the test"),
                _true("passed", "the system met its robustness targets"),
                _text("failSafe", "backup or fail-safe plan (Art. 15(4))", required=False),
                _doc(required=False, name="report"),
            ),
        ),
        remediation="Test robustness to errors and faults (and feedback loops), date the "
                    "run, and keep a fail-safe plan.",
    ),
    Check(
        "EUAIACT-ART15-003", Article.ART_15,
        "Cybersecurity against adversarial attacks",
        "The system is resilient against attempts by unauthorised third parties to alter "
        "its use, outputs or performance, including data and model poisoning, adversarial "
        "examples, confidentiality attacks and model flaws (Art. 15(1), 15(5)).",
        "metadata.cybersecurityControls", "blocker",
        paragraph="15(5)", also_cites=("15(1)",),
        supporting_fields=("metadata.redTeamReport",),
        satisfied_by=EvidenceSpec(
            "the security controls in place, optionally with a red-team report "
            "(riskScore >= 0.8, no critical finding); a valid metadata.redTeamReport also "
            "evidences this check",
            (
                _list("measures", "controls against poisoning, adversarial examples, "
                                  "confidentiality attacks (Art. 15(5))"),
                _list("threatsAddressed", "threats the controls address", required=False),
                F("redTeamReport", "red_team_report", "a red-team run against the system",
                  required=False, minimum=0.8),
                _reviewed("assessedOn", "date of the last security assessment",
                          required=False),
            ),
        ),
        remediation="Put controls against poisoning, adversarial inputs and confidentiality "
                    "attacks in place and red-team the system (openmoe_bft.red_team).",
    ),
)


def check_by_id(check_id: str) -> Check:
    """The check with ``check_id`` (full id or without the ``EUAIACT-`` prefix)."""
    wanted = check_id if check_id.startswith("EUAIACT-") else f"EUAIACT-{check_id}"
    for check in CHECKS:
        if check.id == wanted:
            return check
    raise InvalidInput(f"no check {check_id!r}", argument="check_id")


def checks_for_article(article: Article | int) -> list[Check]:
    """Every check governed by ``article`` (an :class:`Article` or its number)."""
    if isinstance(article, int) and not isinstance(article, bool):
        return [c for c in CHECKS if c.article.number == article]
    return [c for c in CHECKS if c.article == article]


def checks_by_severity(severity: Severity) -> list[Check]:
    """Every check at ``severity`` (``"blocking"`` is accepted for ``"blocker"``);
    an unknown severity gives an empty list."""
    severity = _SEVERITY_ALIASES.get(severity, severity)
    return [c for c in CHECKS if c.severity == severity]
