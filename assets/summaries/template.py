"""Deterministic cards written from the facts alone, in French or English: what the firm reads when no language
model is configured, or when the model's answer cannot be used. Every figure and date comes from the facts, so
these cards pass the grounding check by construction (tests check it); the newest notes are quoted word for word
(`quoted_notes`), as quotations the check leaves aside."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from assets.summaries.models import SummaryCards

NBSP = "\u00a0"  # French typography: thousands groups and the euro sign stay on the line
MONTH_NAMES = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
NOTE_KINDS = {
    "fr": {"comment": "commentaire", "task": "tâche", "call": "appel", "event": "rendez-vous"},
    "en": {"comment": "comment", "task": "task", "call": "call", "event": "meeting"},
}
NOTES_SHOWN = 3  # the template quotes the newest notes; the model summarises them all

WORDS = {
    "fr": {
        "no_purchase": "Aucun achat enregistré à ce jour.",
        "relationship": "Premier achat le {first}, dernier achat le {last}. Total des achats : {total} HT sur "
                        "{count} {documents}{basis}.",
        "documents": ("document", "documents"),
        "accepted_quotes": " (devis acceptés, aucune facture)",
        "to_pay": "Factures à payer : {count} pour {amount} HT.",
        "no_to_pay": "Aucune facture à payer.",
        "late": "Factures en retard : {count} pour {amount} HT.",
        "no_late": "Aucune facture en retard.",
        "quotes": "Devis en attente : {sent} envoyé(s), {read} lu(s).",
        "no_quotes": "Aucun devis en attente.",
        "opportunities": "Opportunités ouvertes : {count} pour {amount} HT ({items}).",
        "no_opportunities": "Aucune opportunité ouverte.",
        "step": "étape {step}",
        "probability": "probabilité {pct} %",
        "no_amount": "montant non renseigné",
        "by_year": "Achats par année (HT) : {years}.",
        "frequency": "Fréquence d'achat : {frequency} document(s) par an",
        "basket": "panier moyen : {basket} HT",
        "top_quantity": "Produits les plus achetés en quantité : {items}.",
        "top_revenue": "En chiffre d'affaires : {items}.",
        "payment": "Délai moyen de paiement : {days} jours sur {paid} facture(s) payée(s), dont {late} payée(s) "
                   "après l'échéance.",
        "no_payment": "Aucune facture payée avec une date de paiement.",
        "no_notes": "Aucune note au cours des {months} derniers mois.",
        "notes": "{count} note(s) au cours des {months} derniers mois. Les plus récentes : {items}",
        "note": "le {date} ({kind}) : « {text} »",
        "recommend_late": "Relancer le paiement des factures en retard ({count}, {amount} HT).",
        "recommend_quotes": "Relancer les devis en attente de réponse.",
        "recommend_mission": "Proposer la mission « {title} »{price} : {trigger}",
        "price_range": " (de {low} à {high} HT)",
        "price": " ({price} HT)",
        "recommend_opportunities": "Faire avancer les opportunités commerciales ouvertes.",
        "recommend_nothing": "Aucune action particulière ne ressort des données.",
        "separator": " ; ",
        "colon": " : ",
    },
    "en": {
        "no_purchase": "No purchase recorded to date.",
        "relationship": "First purchase on {first}, last purchase on {last}. Total purchases: {total} excl. tax "
                        "over {count} {documents}{basis}.",
        "documents": ("document", "documents"),
        "accepted_quotes": " (accepted quotes, no invoice)",
        "to_pay": "Invoices to pay: {count} for {amount} excl. tax.",
        "no_to_pay": "No invoice to pay.",
        "late": "Late invoices: {count} for {amount} excl. tax.",
        "no_late": "No late invoice.",
        "quotes": "Pending quotes: {sent} sent, {read} read.",
        "no_quotes": "No pending quote.",
        "opportunities": "Open opportunities: {count} for {amount} excl. tax ({items}).",
        "no_opportunities": "No open opportunity.",
        "step": "step {step}",
        "probability": "probability {pct}%",
        "no_amount": "amount not set",
        "by_year": "Purchases per year (excl. tax): {years}.",
        "frequency": "Purchase frequency: {frequency} document(s) per year",
        "basket": "average basket: {basket} excl. tax",
        "top_quantity": "Top products by quantity: {items}.",
        "top_revenue": "By revenue: {items}.",
        "payment": "Average payment delay: {days} days over {paid} paid invoice(s), {late} of them paid after the "
                   "due date.",
        "no_payment": "No paid invoice with a payment date.",
        "no_notes": "No note in the last {months} months.",
        "notes": "{count} note(s) in the last {months} months. Most recent: {items}",
        "note": "on {date} ({kind}): \u201c{text}\u201d",
        "recommend_late": "Chase the payment of the late invoices ({count}, {amount} excl. tax).",
        "recommend_quotes": "Follow up the quotes awaiting an answer.",
        "recommend_mission": "Offer the mission \u201c{title}\u201d{price}: {trigger}",
        "price_range": " ({low} to {high} excl. tax)",
        "price": " ({price} excl. tax)",
        "recommend_opportunities": "Move the open sales opportunities forward.",
        "recommend_nothing": "Nothing in the data calls for a particular action.",
        "separator": "; ",
        "colon": ": ",
    },
}


def render_template(facts: dict, language: str) -> SummaryCards:
    words = WORDS[language]
    return SummaryCards(
        relationship=_relationship(facts["relationship"], language, words),
        open_documents=_open_documents(facts["open_documents"], language, words),
        sales_overview=_sales_overview(facts["sales_overview"], language, words),
        recent_interactions=_recent_interactions(facts["recent_interactions"], language, words),
        recommendations=_recommendations(facts, language, words),
    )


# ---- cards ----


def _relationship(card: dict, language: str, words: dict) -> str:
    if card["first_purchase_date"] is None:
        return words["no_purchase"]
    count = card["purchase_documents_count"]
    return words["relationship"].format(
        first=format_date(card["first_purchase_date"], language),
        last=format_date(card["last_purchase_date"], language),
        total=format_amount(card["total_purchases_excl_tax"], language),
        count=format_number(count, language),
        documents=words["documents"][count > 1],
        basis=words["accepted_quotes"] if card["purchases_basis"] == "accepted_quotes" else "",
    )


def _open_documents(card: dict, language: str, words: dict) -> str:
    sentences = [
        _counted(words, "to_pay", card["invoices_to_pay_count"], card["invoices_to_pay_amount_excl_tax"], language),
        _counted(words, "late", card["invoices_late_count"], card["invoices_late_amount_excl_tax"], language),
    ]
    if card["quotes_sent_count"] or card["quotes_read_count"]:
        sentences.append(words["quotes"].format(sent=format_number(card["quotes_sent_count"], language),
                                                read=format_number(card["quotes_read_count"], language)))
    else:
        sentences.append(words["no_quotes"])
    if card["open_opportunities_count"]:
        items = words["separator"].join(_opportunity(o, language, words) for o in card["open_opportunities"])
        sentences.append(words["opportunities"].format(
            count=format_number(card["open_opportunities_count"], language),
            amount=format_amount(card["open_opportunities_amount_excl_tax"], language), items=items))
    else:
        sentences.append(words["no_opportunities"])
    return " ".join(sentences)


def _counted(words: dict, key: str, count, amount, language: str) -> str:
    if not count:
        return words[f"no_{key}"]
    return words[key].format(count=format_number(count, language), amount=format_amount(amount, language))


def _opportunity(opportunity: dict, language: str, words: dict) -> str:
    amount = opportunity["amount_excl_tax"]
    details = [format_amount(amount, language) if amount is not None else words["no_amount"]]
    if opportunity["step"]:
        details.append(words["step"].format(step=opportunity["step"]))
    if opportunity["probability_pct"] is not None:
        details.append(words["probability"].format(pct=format_number(opportunity["probability_pct"], language)))
    return f"{opportunity['name']}{words['colon']}{', '.join(details)}"


def _sales_overview(card: dict, language: str, words: dict) -> str:
    separator = words["separator"]
    years = separator.join(f"{year}{words['colon']}{format_amount(amount, language)}"
                           for year, amount in sorted(card["purchases_by_year_excl_tax"].items()))
    sentences = [words["by_year"].format(years=years)] if years else []
    frequency = words["frequency"].format(frequency=format_number(card["purchase_frequency_per_year"], language))
    if card["average_basket_excl_tax"] is not None:
        frequency += separator + words["basket"].format(
            basket=format_amount(card["average_basket_excl_tax"], language))
    sentences.append(frequency + ".")
    if card["top_products_by_quantity"]:
        sentences.append(words["top_quantity"].format(items=", ".join(
            f"{p['product']} ({format_number(p['quantity'], language)})" for p in card["top_products_by_quantity"])))
        sentences.append(words["top_revenue"].format(items=", ".join(
            f"{p['product']} ({format_amount(p['revenue_excl_tax'], language)})"
            for p in card["top_products_by_revenue"])))
    if card["avg_payment_days"] is not None:
        sentences.append(words["payment"].format(days=format_number(card["avg_payment_days"], language),
                                                 paid=format_number(card["paid_invoices_count"], language),
                                                 late=format_number(card["late_payments_count"], language)))
    else:
        sentences.append(words["no_payment"])
    return " ".join(sentences)


def _recent_interactions(card: dict, language: str, words: dict) -> str:
    months = format_number(card["window_months"], language)
    if not card["notes"]:
        return words["no_notes"].format(months=months)
    items = words["separator"].join(
        words["note"].format(date=format_date(n["date"], language),
                             kind=NOTE_KINDS[language].get(n["kind"], n["kind"] or "?"), text=n["text"])
        for n in card["notes"][:NOTES_SHOWN])
    return words["notes"].format(count=format_number(card["notes_count"], language), months=months, items=items)


def quoted_notes(facts: dict) -> list[str]:
    """The note texts the template quotes word for word in its interactions card."""
    return [n["text"] for n in facts["recent_interactions"]["notes"][:NOTES_SHOWN] if n["text"]]


def _recommendations(facts: dict, language: str, words: dict) -> str:
    documents = facts["open_documents"]
    actions = []
    if documents["invoices_late_count"]:
        actions.append(words["recommend_late"].format(
            count=format_number(documents["invoices_late_count"], language),
            amount=format_amount(documents["invoices_late_amount_excl_tax"], language)))
    if documents["quotes_sent_count"] or documents["quotes_read_count"]:
        actions.append(words["recommend_quotes"])
    for mission in facts["suggested_missions"]:
        actions.append(words["recommend_mission"].format(
            title=mission["mission_title"], price=_price(mission, language, words),
            trigger=_sentence(mission["trigger_text"] or "")))
    if documents["open_opportunities_count"]:
        actions.append(words["recommend_opportunities"])
    return " ".join(actions) if actions else words["recommend_nothing"]


def _price(mission: dict, language: str, words: dict) -> str:
    low, high = mission["price_min_excl_tax"], mission["price_max_excl_tax"]
    if low is not None and high is not None and low != high:
        return words["price_range"].format(low=format_amount(low, language), high=format_amount(high, language))
    if low is not None or high is not None:
        return words["price"].format(price=format_amount(low if low is not None else high, language))
    return ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


# ---- formatting ----


def format_amount(value, language: str) -> str:
    """12345.6 -> '12 345,60 €' (fr, no-break spaces) or '€12,345.60' (en)."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):,.2f}".split(".")
    if language == "fr":
        return f"{sign}{whole.replace(',', NBSP)},{cents}{NBSP}€"
    return f"{sign}€{whole}.{cents}"


def format_number(value, language: str) -> str:
    """A count or measure as written in the facts, without trailing zeros: 37.5 -> '37,5' (fr) or '37.5' (en)."""
    number = Decimal(str(value))
    # normalize() alone would write 100 as 1E+2
    number = number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    text = f"{number:,f}"
    if language == "fr":
        return text.replace(",", NBSP).replace(".", ",")
    return text


def format_date(value: str, language: str) -> str:
    """'2026-10-01' -> '1er octobre 2026' (fr) or '1 October 2026' (en)."""
    day = date.fromisoformat(value)
    month = MONTH_NAMES[language][day.month - 1]
    if language == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{day.day} {month} {day.year}"
