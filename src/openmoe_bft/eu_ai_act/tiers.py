"""Risk tiers of Regulation (EU) 2024/1689 and the dates their obligations apply.

:func:`classify` sorts an AI system into one of four tiers, first match wins:

``prohibited``  a practice listed in Art. 5(1)(a)-(h);
``high-risk``   Art. 6(1) (safety component of / product under the Union harmonisation
                legislation of Annex I that needs third-party conformity assessment) or
                Art. 6(2) (an Annex III area) — unless an Art. 6(3) derogation applies,
                which it never does for a system that profiles natural persons;
``limited``     the transparency obligations of Art. 50(1)-(4);
``minimal``     none of the above (Art. 4 AI literacy and voluntary codes, Art. 95).

It returns which obligations apply and from when. The dates are Art. 113 of the
Regulation as published in the Official Journal (OJ L, 12.7.2024): entry into force
on 1 August 2024 (twentieth day after publication); Chapters I-II (Art. 4, Art. 5)
from 2 February 2025; Chapter III Section 4, Chapter V (general-purpose AI models),
Chapter VII, Chapter XII and Art. 78 from 2 August 2025; everything else — including
the Annex III high-risk requirements of Art. 8-15 and Art. 50 — from 2 August 2026;
Art. 6(1) and its corresponding obligations from 2 August 2027.

The Digital Omnibus on AI (Commission proposal of 19 November 2025, provisional
political agreement of 7 May 2026) moves the high-risk dates to 2 December 2027
(Annex III) and 2 August 2028 (Annex I). It binds only once published in the Official
Journal; :data:`DIGITAL_OMNIBUS_SCHEDULE` holds those dates so a caller can pass
``schedule=DIGITAL_OMNIBUS_SCHEDULE`` when it applies. The default stays Art. 113.

This is a triage aid over facts the caller states; it is not legal advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import Any

from ..errors import InvalidInput, InvalidType
from .evidence import coerce_today

__all__ = [
    "ANNEX_III_AREAS",
    "APPLICATION_DATES",
    "ART6_3_DEROGATIONS",
    "DIGITAL_OMNIBUS_SCHEDULE",
    "ENTRY_INTO_FORCE",
    "HIGH_RISK",
    "LIMITED",
    "MINIMAL",
    "Obligation",
    "PROHIBITED",
    "PROHIBITED_PRACTICES",
    "RISK_TIERS",
    "RiskClassification",
    "classify",
    "risk_tier",
]

PROHIBITED = "prohibited"
HIGH_RISK = "high-risk"
LIMITED = "limited"
MINIMAL = "minimal"
RISK_TIERS: tuple[str, ...] = (PROHIBITED, HIGH_RISK, LIMITED, MINIMAL)

ENTRY_INTO_FORCE = date(2024, 8, 1)
"""Art. 113, first paragraph: twentieth day after publication in the OJ (12 July 2024)."""

APPLICATION_DATES: Mapping[str, date] = MappingProxyType({
    # Art. 113(a): Chapters I and II — Art. 4 AI literacy, Art. 5 prohibited practices.
    "general_provisions_and_prohibitions": date(2025, 2, 2),
    # Art. 113(b): Ch. III Sec. 4, Ch. V (GPAI models), Ch. VII, Ch. XII, Art. 78.
    "gpai_models": date(2025, 8, 2),
    # Art. 113, second paragraph: the rest, incl. Art. 6(2) + Annex III, Art. 8-27, Art. 50.
    "annex_iii_high_risk": date(2026, 8, 2),
    "transparency": date(2026, 8, 2),
    # Art. 113(c): Art. 6(1) and the corresponding obligations.
    "annex_i_high_risk": date(2027, 8, 2),
})
"""When each group of obligations applies (Art. 113 of Regulation (EU) 2024/1689)."""

DIGITAL_OMNIBUS_SCHEDULE: Mapping[str, date] = MappingProxyType({
    **APPLICATION_DATES,
    "annex_iii_high_risk": date(2027, 12, 2),
    "annex_i_high_risk": date(2028, 8, 2),
})
"""The high-risk dates of the Digital Omnibus on AI (provisional agreement of 7 May
2026). Not law until published in the Official Journal: pass it as ``schedule=`` only
then."""

PROHIBITED_PRACTICES: Mapping[str, str] = MappingProxyType({
    "manipulation": "Art. 5(1)(a): subliminal, purposefully manipulative or deceptive "
                    "techniques that materially distort behaviour and cause significant harm",
    "exploiting-vulnerabilities": "Art. 5(1)(b): exploiting vulnerabilities due to age, "
                                  "disability or a social or economic situation",
    "social-scoring": "Art. 5(1)(c): social scoring leading to detrimental or unfavourable "
                      "treatment",
    "crime-prediction-profiling": "Art. 5(1)(d): assessing the risk of a person committing "
                                  "a criminal offence based solely on profiling or "
                                  "personality traits",
    "untargeted-face-scraping": "Art. 5(1)(e): facial recognition databases built by "
                                "untargeted scraping of facial images",
    "emotion-recognition-work-education": "Art. 5(1)(f): emotion recognition in the "
                                          "workplace or education (except medical or "
                                          "safety reasons)",
    "biometric-categorisation-sensitive": "Art. 5(1)(g): biometric categorisation to infer "
                                          "race, political opinions, trade union membership, "
                                          "religious or philosophical beliefs, sex life or "
                                          "sexual orientation",
    "realtime-remote-biometric-id": "Art. 5(1)(h): real-time remote biometric "
                                    "identification in publicly accessible spaces for law "
                                    "enforcement (outside the narrow exceptions)",
})

ANNEX_III_AREAS: Mapping[str, str] = MappingProxyType({
    "biometrics": "Annex III point 1: remote biometric identification, biometric "
                  "categorisation by sensitive attributes, emotion recognition",
    "critical-infrastructure": "Annex III point 2: safety components of critical digital "
                               "infrastructure, road traffic, water, gas, heating, electricity",
    "education": "Annex III point 3: education and vocational training",
    "employment": "Annex III point 4: employment, workers management and access to "
                  "self-employment",
    "essential-services": "Annex III point 5: access to essential private and public "
                          "services and benefits (benefits, credit, life/health insurance "
                          "pricing, emergency dispatch)",
    "law-enforcement": "Annex III point 6: law enforcement",
    "migration": "Annex III point 7: migration, asylum and border control management",
    "justice-democracy": "Annex III point 8: administration of justice and democratic "
                         "processes",
})

ART6_3_DEROGATIONS: Mapping[str, str] = MappingProxyType({
    "narrow-procedural-task": "Art. 6(3)(a): performs a narrow procedural task",
    "improves-human-activity": "Art. 6(3)(b): improves the result of a previously "
                               "completed human activity",
    "detects-patterns": "Art. 6(3)(c): detects decision-making patterns or deviations "
                        "without replacing or influencing the human assessment",
    "preparatory-task": "Art. 6(3)(d): performs a preparatory task to an assessment",
})


@dataclass(frozen=True)
class Obligation:
    """One obligation that applies: what, where it is written, and from when."""

    key: str
    citation: str
    summary: str
    applies_from: date
    applies_now: bool

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "citation": self.citation, "summary": self.summary,
                "applies_from": self.applies_from.isoformat(), "applies_now": self.applies_now}


@dataclass(frozen=True)
class RiskClassification:
    """The tier, why, and the obligations that follow (judged on ``today``).

    ``checks_apply`` is True for high-risk systems: the Art. 9-15 checks of
    :func:`~openmoe_bft.eu_ai_act.evaluate` are then legal requirements.
    """

    tier: str
    reasons: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    today: date
    prohibited_practices: tuple[str, ...] = ()
    annex_iii_areas: tuple[str, ...] = ()
    transparency: tuple[str, ...] = ()

    @property
    def checks_apply(self) -> bool:
        return self.tier == HIGH_RISK

    @property
    def high_risk_from(self) -> date | None:
        """When the high-risk requirements (Art. 8-15) apply to this system, if they do."""
        for o in self.obligations:
            if o.key == "high_risk_requirements":
                return o.applies_from
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "reasons": list(self.reasons),
            "today": self.today.isoformat(),
            "checks_apply": self.checks_apply,
            "prohibited_practices": list(self.prohibited_practices),
            "annex_iii_areas": list(self.annex_iii_areas),
            "transparency": list(self.transparency),
            "obligations": [o.to_dict() for o in self.obligations],
        }


def _keys(value: Iterable[str] | str | None, known: Mapping[str, str], argument: str
          ) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise InvalidType(f"{argument} must be a list of names, got {type(value).__name__}",
                          argument=argument) from None
    out = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidType(f"{argument} items must be strings, got {type(item).__name__}",
                              argument=argument)
        if item not in known:
            raise InvalidInput(f"unknown {argument[:-1] if argument.endswith('s') else argument}"
                               f" {item!r}; known: {', '.join(known)}", argument=argument)
        if item not in out:
            out.append(item)
    return tuple(out)


def _schedule(schedule: Mapping[str, date] | None) -> Mapping[str, date]:
    if schedule is None:
        return APPLICATION_DATES
    if not isinstance(schedule, Mapping):
        raise InvalidType("schedule must be a mapping of obligation group -> date",
                          argument="schedule")
    merged = dict(APPLICATION_DATES)
    for key, value in schedule.items():
        if key not in APPLICATION_DATES:
            raise InvalidInput(f"unknown schedule key {key!r}; known: "
                               f"{', '.join(APPLICATION_DATES)}", argument="schedule")
        merged[key] = coerce_today(value)
    return merged


def classify(
    *,
    prohibited_practices: Iterable[str] | str | None = None,
    annex_iii_areas: Iterable[str] | str | None = None,
    annex_i_product: bool = False,
    derogation: str | None = None,
    profiling: bool = False,
    interacts_with_people: bool = False,
    generates_synthetic_content: bool = False,
    emotion_recognition: bool = False,
    biometric_categorisation: bool = False,
    deep_fake: bool = False,
    public_interest_text: bool = False,
    gpai_model: bool = False,
    gpai_systemic_risk: bool = False,
    today: date | datetime | str | None = None,
    schedule: Mapping[str, date] | None = None,
) -> RiskClassification:
    """Classify an AI system from stated facts (see the module docstring).

    ``prohibited_practices`` are keys of :data:`PROHIBITED_PRACTICES`,
    ``annex_iii_areas`` keys of :data:`ANNEX_III_AREAS`; ``annex_i_product`` means the
    Art. 6(1) route (a safety component of, or itself, a product under Annex I
    legislation that needs third-party conformity assessment); ``derogation`` a key of
    :data:`ART6_3_DEROGATIONS` claimed under Art. 6(3) (refused when ``profiling``);
    the Art. 50 flags say which transparency duties apply; ``gpai_model`` /
    ``gpai_systemic_risk`` add the Chapter V obligations of a model provider.
    ``today`` (default: the current UTC date) decides ``applies_now``; ``schedule``
    overrides :data:`APPLICATION_DATES` entries.
    """
    practices = _keys(prohibited_practices, PROHIBITED_PRACTICES, "prohibited_practices")
    areas = list(_keys(annex_iii_areas, ANNEX_III_AREAS, "annex_iii_areas"))
    if derogation is not None:
        if not isinstance(derogation, str):
            raise InvalidType(f"derogation must be a string, got {type(derogation).__name__}",
                              argument="derogation")
        _keys(derogation, ART6_3_DEROGATIONS, "derogation")
    flags = {
        "annex_i_product": annex_i_product, "profiling": profiling,
        "interacts_with_people": interacts_with_people,
        "generates_synthetic_content": generates_synthetic_content,
        "emotion_recognition": emotion_recognition,
        "biometric_categorisation": biometric_categorisation, "deep_fake": deep_fake,
        "public_interest_text": public_interest_text, "gpai_model": gpai_model,
        "gpai_systemic_risk": gpai_systemic_risk,
    }
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise InvalidType(f"{name} must be true or false, got {type(flag).__name__}",
                              argument=name)
    day = datetime.now(timezone.utc).date() if today is None else coerce_today(today)
    dates = _schedule(schedule)
    if (emotion_recognition or biometric_categorisation) and "biometrics" not in areas:
        areas.append("biometrics")  # Annex III point 1(b)-(c)

    obligations: list[Obligation] = []

    def add(key: str, citation: str, summary: str, group: str) -> None:
        when = dates[group]
        obligations.append(Obligation(key, citation, summary, when, when <= day))

    reasons: list[str] = []
    add("ai_literacy", "Art. 4", "providers and deployers ensure a sufficient level of AI "
        "literacy of their staff", "general_provisions_and_prohibitions")

    transparency: list[str] = []
    if interacts_with_people:
        transparency.append("Art. 50(1): tell people they are interacting with an AI system")
    if generates_synthetic_content:
        transparency.append("Art. 50(2): mark synthetic audio, image, video or text as "
                            "artificially generated, machine-readably")
    if emotion_recognition or biometric_categorisation:
        transparency.append("Art. 50(3): inform the people exposed to emotion recognition or "
                            "biometric categorisation")
    if deep_fake or public_interest_text:
        transparency.append("Art. 50(4): disclose deep fakes and AI-generated text published "
                            "to inform the public")

    if practices:
        tier = PROHIBITED
        reasons += [PROHIBITED_PRACTICES[p] for p in practices]
        add("prohibition", "Art. 5", "the practice must not be placed on the market, put into "
            "service or used", "general_provisions_and_prohibitions")
    else:
        high_from: str | None = None
        if annex_i_product:
            reasons.append("Art. 6(1): safety component of, or itself, a product under the "
                           "Union harmonisation legislation of Annex I")
            high_from = "annex_i_high_risk"
        if areas:
            listed = [ANNEX_III_AREAS[a] for a in areas]
            if derogation is not None and not profiling:
                reasons += listed
                reasons.append(f"{ART6_3_DEROGATIONS[derogation]} — not high-risk under "
                               "Art. 6(3); document the assessment (Art. 6(4)) and register "
                               "(Art. 49(2))")
                add("derogation_documentation", "Art. 6(4), Art. 49(2)", "document the "
                    "Art. 6(3) assessment before placing on the market and register the "
                    "system", "annex_iii_high_risk")
            else:
                reasons += [f"Art. 6(2): {text}" for text in listed]
                if derogation is not None:
                    reasons.append("Art. 6(3), last subparagraph: a system that profiles "
                                   "natural persons is always high-risk; the derogation does "
                                   "not apply")
                # Annex III obligations apply at the general date; if the system is also an
                # Annex I product, the earlier of the two dates governs the Annex III route.
                high_from = "annex_iii_high_risk"
        if high_from is not None:
            tier = HIGH_RISK
            for key, citation, summary in (
                ("high_risk_requirements", "Art. 8-15", "risk management, data governance, "
                 "technical documentation, record-keeping, transparency, human oversight, "
                 "accuracy, robustness and cybersecurity (checked by evaluate())"),
                ("provider_obligations", "Art. 16-17, 43, 47-49, 72-73", "quality management "
                 "system, conformity assessment, EU declaration of conformity, CE marking, "
                 "registration, post-market monitoring, serious-incident reporting"),
                ("deployer_obligations", "Art. 26-27", "use per the instructions, human "
                 "oversight, log keeping, and a fundamental rights impact assessment where "
                 "Art. 27 requires one"),
            ):
                add(key, citation, summary, high_from)
        elif transparency:
            tier = LIMITED
        else:
            tier = MINIMAL
            reasons.append("no prohibited practice, no Annex I or Annex III use, no Art. 50 "
                           "transparency duty: voluntary codes of conduct (Art. 95)")
    if transparency:
        reasons += transparency
        add("transparency", "Art. 50", "; ".join(t.split(": ", 1)[1] for t in transparency),
            "transparency")
    if gpai_model or gpai_systemic_risk:
        add("gpai_provider", "Art. 53-54", "general-purpose AI model providers: technical "
            "documentation, information for downstream providers, copyright policy, "
            "training-content summary", "gpai_models")
        if gpai_systemic_risk:
            add("gpai_systemic_risk", "Art. 55", "model evaluation and adversarial testing, "
                "systemic-risk mitigation, serious-incident reporting, cybersecurity",
                "gpai_models")
    return RiskClassification(
        tier=tier, reasons=tuple(reasons), obligations=tuple(obligations), today=day,
        prohibited_practices=practices, annex_iii_areas=tuple(areas),
        transparency=tuple(transparency),
    )


def risk_tier(**facts: Any) -> str:
    """Only the tier name of :func:`classify` ``(**facts)``."""
    return classify(**facts).tier
