"""The facts a client's summary is written from: the dbt facts of cards 1 to 4, the Vigie missions suggested to
the client, with what must not leave the firm taken out, and their hash (the cache knows a client by it).

Taken out of every text (notes, product and opportunity names, trigger sentences), each replaced by a mark:
IBANs (FR76 3000 6000 ..., any country, grouped by one or two spaces, by dashes, or not), French social security
numbers (NIR, 15 digits, spaced, dotted or not), card numbers (13 to 19 digits passing the Luhn check, spaces,
dashes or dots allowed), postal addresses ("12 rue de la Paix", "3 bis avenue ...", "BP 123", "75008 Paris", "221B
Baker Street"), what follows a credential word after ':', '=' or 'est' / 'is' (a quoted value or the rest of the
clause: "mot de passe : Mon Chien 2020!", "mdp=...", "password is ...", "login: ...", "le code wifi est ...") unless
it only says what became of it ("le login est bloqué", "password expired"), a token with a digit or a symbol
right after a password word ("mdp Azerty123", "MDP impots.gouv Azerty123", "code PIN 1234"), e-mail addresses,
phone numbers, the names of the firm's collaborators (practice export and time-tracking users), any name written
after a civility (M., Mme, Madame, Mr, Dr, Me..., particles included: "Mme de la Tour", "Madame van der Berg")
and any name followed by a role ("Jean Dupont (gérant)", "jean dupont (gérant)", "Marie Martin, DAF", "John
Smith - CEO"). The company's own name is kept: it is what the summary is about.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from assets.warehouse import fetch_dicts, relation_exists

FACTS_TABLE = "marts.client_summary_facts"
MISSIONS_TABLE = "opportunities.opportunity_history"
INTERACTIONS_WINDOW_MONTHS = 6  # card 4's window, as client_summary_facts computes it

EMAIL_MARK, PHONE_MARK, PERSON_MARK = "[email]", "[phone]", "[person]"
IBAN_MARK, NIR_MARK, CARD_MARK = "[iban]", "[social-security-number]", "[card]"
ADDRESS_MARK, CREDENTIAL_MARK = "[address]", "[credential]"
MARKS = (EMAIL_MARK, PHONE_MARK, PERSON_MARK, IBAN_MARK, NIR_MARK, CARD_MARK, ADDRESS_MARK, CREDENTIAL_MARK)

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_FRENCH_PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)33[\s.\-]?(?:\(0\)[\s.\-]?)?|0)[1-9](?:[\s.\-]?\d{2}){4}(?!\d)")
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d[\d\s.\-()]{6,}\d")
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:[-'’][^\W\d_]+)*"
# the lower-case particles of a surname: "de la Tour", "du Pont", "van der Berg", "d'Ormesson"
_PARTICLES = (r"(?:(?:(?:de|van|von)\s+(?:la|le|les|der|den|het)|de|du|des|van|von|der|den|ter|ten|di|da|del|"
              r"della|dos|das|zu|ben|bin|ibn|af)\s+|(?:de\s+)?[dl]['’])")
_CIVILITY_NAME = re.compile(
    r"(?<![^\W\d_])(?:M\.|MM\.|Mme|Mmes|Mlle|Mr\.?|Mrs\.?|Ms\.?|Monsieur|Madame|Mademoiselle|Maître|Me|Dr\.?|"
    r"Docteur)\s+" + _PARTICLES + "?" + _CAPITALISED + r"(?:\s+" + _PARTICLES + "?" + _CAPITALISED + r")?")

_SEP = r"[\x20\u00a0\u202f]?"  # one optional space between groups
# between the groups of an IBAN: nothing, one or two spaces, or a dash
_IBAN_SEP = r"(?:[\x20\u00a0\u202f]{1,2}|-)?"
# two letters, two check digits, then 11 to 30 letters or digits, in groups or not
_IBAN = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}(?:" + _IBAN_SEP + r"[A-Z0-9]){11,30}(?![^\W_])")
_IBAN_COUNTRIES = frozenset((  # the countries of the IBAN registry
    "AD", "AE", "AL", "AT", "AZ", "BA", "BE", "BG", "BH", "BI", "BR", "BY", "CH", "CR", "CY", "CZ", "DE", "DJ", "DK",
    "DO", "EE", "EG", "ES", "FI", "FK", "FO", "FR", "GB", "GE", "GI", "GL", "GR", "GT", "HR", "HU", "IE", "IL", "IQ",
    "IS", "IT", "JO", "KW", "KZ", "LB", "LC", "LI", "LT", "LU", "LV", "LY", "MC", "MD", "ME", "MK", "MN", "MR", "MT",
    "MU", "NI", "NL", "NO", "OM", "PK", "PL", "PS", "PT", "QA", "RO", "RS", "RU", "SA", "SC", "SD", "SE", "SI", "SK",
    "SM", "SO", "ST", "SV", "TL", "TN", "TR", "UA", "VA", "VG", "XK", "YE",
))
# between the groups of a NIR or a card number: nothing, a space, a dash or a dot
_DIGITS_SEP = r"[\x20\u00a0\u202f.\-]?"
# sex, year, month, department (2A/2B in Corsica), commune, order, key
_NIR = re.compile(r"(?<![\w])[12]" + _DIGITS_SEP + r"\d{2}" + _DIGITS_SEP + r"\d{2}" + _DIGITS_SEP
                  + r"(?:\d{2}|2[AaBb])" + _DIGITS_SEP + r"\d{3}" + _DIGITS_SEP + r"\d{3}" + _DIGITS_SEP
                  + r"\d{2}(?![\w])(?![.\-]\d)")
_CARD = re.compile(r"(?<![\d\w])(?<!\d[.\-])\d(?:" + _DIGITS_SEP + r"\d){12,18}(?!\d)(?![.\-]\d)")
_SIRET_BEFORE = re.compile(r"siret\W{0,5}\Z", re.IGNORECASE)
_STREET_TYPES = (
    "rue|avenue|av\\.|bd|boulevard|bld|place|pl\\.|chemin|ch\\.|allée|allee|impasse|imp\\.|route|rte|quai|cours|"
    "square|passage|voie|faubourg|fbg|rond-point|sentier|hameau|lieu-dit|résidence|residence|parvis|esplanade|"
    "cité|cite|villa|promenade|mail|clos|lotissement|zone|za|zi|zac|parc"
)
_SPACES = r"[\x20\u00a0\u202f]"
_STREET_CONNECTOR = r"(?:(?:de|du|des|la|le|les|à|au|aux|sur|sous|en|et)(?![^\W\d_])|l['’]|d['’])"
# "12 rue de la Paix", "3 bis avenue Victor Hugo", "12-14, chemin des Vignes", "5 rue du 8 Mai 1945": after the
# street type, capitalised words and numbers, each maybe after connectors; a lower-case word only after one
_FRENCH_STREET = re.compile(
    r"(?<![\w,.])\d{1,4}(?:[\-/]\d{1,4})?(?:" + _SEP + r"(?:bis|ter|quater|[A-Za-z](?![^\W\d_])))?,?" + _SPACES
    + r"+(?i:" + _STREET_TYPES + r")(?![^\W\d_])"
    r"(?:" + _SPACES + r"+(?:" + _STREET_CONNECTOR + _SPACES + r"*)*(?:" + _CAPITALISED + r"|\d{1,4}(?!\d)(?![,.]\d))"
    r"|" + _SPACES + r"+(?:" + _STREET_CONNECTOR + _SPACES + r"*)+[^\W\d_]+(?:[\-'’][^\W\d_]+)*)*")
_ENGLISH_STREET = re.compile(
    r"(?<![\w,.])\d{1,5}[A-Za-z]?(?:[\x20\u00a0\u202f]+[A-Z][\w'’\-]*){1,4}[\x20\u00a0\u202f]+"
    r"(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Boulevard|Blvd\.?|Court|Ct\.?|Place|Square|Way|"
    r"Close|Terrace|Crescent|Gardens|Parkway|Highway|Row|Mews|Hill|Park)(?![\w])")
_POST_BOX = re.compile(r"(?<![\w])(?:BP|B\.P\.|CS|TSA|bo[iî]te postale|PO Box|P\.O\. Box)[\x20\u00a0\u202f]*\d{1,6}"
                       r"(?![\d])", re.IGNORECASE)
# a 5-digit postcode of a French department, then the town ("Paris", "Saint-Martin-de-Ré", "Aix-en-Provence",
# "Le Bourget"), then CEDEX; not an amount ('85000 HT')
_POSTCODE_TOWN = re.compile(
    r"(?<![\w,.])(?:0[1-9]|[1-8]\d|9[0-8])\d{3}" + _SPACES + r"+(?!(?i:HT|TTC|EUR|euros?|TVA|HTVA)(?![^\W\d_]))"
    + _CAPITALISED + r"(?:" + _SPACES + _CAPITALISED + r"|-(?:sur|sous|en|lès|lez|les|le|la|de|du|des|et)(?=-))*"
    r"(?:-" + _CAPITALISED + r")*(?:" + _SPACES + r"+CEDEX(?:" + _SPACES + r"*\d{1,2})?)?")
# ---- credentials ----
# the words that name a secret; the password kinds also when the value follows without ':' ("mdp Azerty123")
_PASSWORD_WORDS = (
    r"mots?" + _SPACES + r"+de" + _SPACES + r"+passe|mdp|passwords?|passwd|pwd|passcode|passphrase|digicode|"
    r"code" + _SPACES + r"+(?:d['’]" + _SPACES + r"*acc[eè]s|d['’]" + _SPACES + r"*entr[ée]e|de" + _SPACES
    + r"+connexion|secret|confidentiel|pin|wifi|wi-fi|porte|portail|alarme)|"
    r"cl[ée]" + _SPACES + r"+(?:wifi|wi-fi|wpa)|(?:pin|access|secret|security|wifi|wi-fi)" + _SPACES
    + r"+code|(?:wifi|wi-fi)" + _SPACES + r"+key|(?-i:PIN)"
)
_CREDENTIAL_WORDS = _PASSWORD_WORDS + r"|login|identifiants?|username|user" + _SPACES + r"+name"
# a word right after the credential word that says what became of it, not what it is ("le login est bloqué")
_STATE_STEMS = ("bloqu|oubli|expir|périm|perim|chang|modifi|réinitialis|reinitialis|renouvel|désactiv|desactiv|"
                "activ|verrouill|erron|envoy|communiqu|demand|inchang|refus|supprim|récupér|recuper|mis|remis|"
                "partag|sauvegard|enregistr|stock|not")
_STATE = (
    r"(?:(?:" + _STATE_STEMS + r")[ée]e?s?|perdue?s?|reçue?s?|recue?s?|requise?s?|transmise?s?|faux|fausse|"
    r"invalides?|incorrecte?s?|inconnue?s?|manquante?s?|identiques?|nécessaires?|"
    r"necessaires?|obligatoires?|vides?|absente?s?|(?:le|la|les)" + _SPACES + r"+m[êe]mes?|à|a" + _SPACES
    + r"+(?:changer|modifier|r[ée]initialiser|renouveler|mettre|jour|d[ée]finir|r[ée]cup[ée]rer|revoir|voir|"
    r"demander|cr[ée]er|fournir)|en" + _SPACES + r"+(?:cours|attente)|ok|non|pas|plus|toujours|encore|déjà|"
    r"deja|voir|cf\.?|dans|sur|chez|fait|to|expired|locked|blocked|forgotten|lost|wrong|invalid|unknown|reset|"
    r"changed|updated|sent|missing|same|the" + _SPACES + r"+same|not|no|still|needed|required|pending|see|in|on|"
    r"at|done|empty|shared|stored|saved|being|been)(?=[\s.,;:!?)\]]|$)"
)
# up to three words between the credential word and its value ("mdp du coffre est ...", "MDP impots.gouv : ...",
# "mot de passe changé : ..."); before 'est' / 'is', not a state ("le mot de passe oublié est un classique")
_VERB = r"(?:est|is|sont|are|was|were)(?![^\W\d_])"
_GAP_WORD = r"[^\s:=,;.!?«»\"“”]+(?:\.[^\s:=,;.!?«»\"“”]+)*"
_CREDENTIAL_GAP = r"(?:" + _SPACES + r"+(?!" + _VERB + r")" + _GAP_WORD + r"){0,3}?"
_CREDENTIAL_GAP_NO_STATE = r"(?:" + _SPACES + r"+(?!" + _STATE + r")(?!" + _VERB + r")" + _GAP_WORD + r"){0,3}?"
# the value after ':', '=' or 'est' / 'is': quoted, or the rest of the clause (to a comma, a semicolon, the end of
# the line or of the sentence), so that "mot de passe : Mon Chien 2020!" is taken whole
_CREDENTIAL = re.compile(
    r"(?P<label>(?<![^\W\d_])(?:" + _CREDENTIAL_WORDS + r")(?![^\W\d_])"
    r"(?:" + _CREDENTIAL_GAP + _SPACES + r"*[:=]|" + _CREDENTIAL_GAP_NO_STATE + _SPACES + r"+" + _VERB + r"))"
    + _SPACES
    + r"*(?!" + _STATE + r")(?!\[)"
    r"(?P<secret>\"[^\"\n]{1,100}\"|“[^”\n]{1,100}”|«[^»\n]{1,100}»"
    r"|\S(?:[^\n]*?\S)??(?=" + _SPACES + r"*(?:[,;\n]|$)|" + _SPACES + r"+[(\[]|[.…]+(?:\s|$)"
    r"|(?<=[!?])\s+[A-ZÀ-Þ]|[)\]]+(?:[\s.,;]|$)))",
    re.IGNORECASE)
# a password word, maybe a few words (no digits) later, then one token with a digit or a symbol, without ':' or
# 'est' ("mot de passe Azerty123", "MDP impots.gouv Azerty123", "code PIN 1234"); a date is not one
_BARE_CREDENTIAL = re.compile(
    r"(?P<label>(?<![^\W\d_])(?:" + _PASSWORD_WORDS + r")(?![^\W\d_])"
    r"(?:" + _SPACES + r"+(?!" + _STATE + r")(?!" + _VERB + r")"
    r"[^\W\d_]+(?:[.\-'’][^\W\d_]+)*(?=\s)){0,3}?" + _SPACES + r"+)"
    r"(?!\[)(?!\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?(?![^\s.,;:!?)]))(?=\S{4})"
    r"(?P<secret>(?=[^\s,;]*[\d!@#$%^&*?+~|<>{}\[\]\\/])[^\s,;]+?)(?=[.,;:!?)\]]*(?:\s|$))",
    re.IGNORECASE)
_ROLES = (
    r"(?i:g[ée]rante?s?|co-?g[ée]rante?s?|DAF|DG|DGA|DGD|PDG|CEO|CFO|COO|CTO|CMO|CIO|DRH|RH|DSI|VP|"
    r"pr[ée]sidente?|directeur|directrice|dirigeante?|comptable|expert-comptable|cheffe?\s+comptable|associée?|"
    r"fondateur|fondatrice|co-?fondat(?:eur|rice)|secr[ée]taire|assistante?|responsable|manager|founder|"
    r"co-?founder|owner|director|accountant|chairman|chairwoman|president|head|tr[ée]sori[eè]re?|avocate?|"
    r"notaire|salariée?|employée?|stagiaire|conjointe?|[ée]pouse|[ée]poux|contr[ôo]leur|contr[ôo]leuse|"
    r"commerciale?|g[ée]rant\s+de\s+fait|mandataire|liquidateur|administrat(?:eur|rice)|partner|associate|"
    r"CAC|commissaire\s+aux\s+comptes|juriste|auditeur|auditrice|consultante?|office\s+manager)"
)
# one to three capitalised (or upper-case) words, then a role in parentheses, after a comma or after a dash
_NAME_WITH_ROLE = re.compile(
    r"(?<![^\W\d_])(?P<name>" + _CAPITALISED + r"(?:[\x20\u00a0]+" + _CAPITALISED + r"){0,2})"
    r"(?=[\x20\u00a0]*\([\x20\u00a0]*(?:" + _ROLES + r")(?![^\W\d_])"
    r"|[\x20\u00a0]*,[\x20\u00a0]*(?:notre[\x20\u00a0]+|our[\x20\u00a0]+|the[\x20\u00a0]+|le[\x20\u00a0]+|la[\x20\u00a0]+)?"
    r"(?:" + _ROLES + r")(?![^\W\d_])"
    r"|[\x20\u00a0]+[-–—][\x20\u00a0]*(?:" + _ROLES + r")(?![^\W\d_]))")
# two lower-case words, then a role in parentheses ("jean dupont (gérant)"), when neither is a common word
_NOT_A_NAME = (
    r"(?:le|la|les|l|un|une|des|du|de|d|au|aux|et|ou|avec|chez|par|pour|sur|sous|dans|en|à|a|son|sa|ses|leur|leurs|"
    r"notre|nos|votre|vos|mon|ma|mes|ce|cette|ces|qui|que|est|sont|été|vu|vue|appel|appelé|mail|e-mail|email|rdv|"
    r"rendez-vous|réunion|reunion|échange|echange|relance|relancé|dossier|client|cliente|clients|contact|"
    r"contacté|envoyé|reçu|recu|fait|point|note|the|a|an|and|or|with|by|for|of|to|from|at|on|in|our|their|his|"
    r"her|its|my|your|this|that|met|call|called|meeting|email|sent|client|customer|contact|new|nouveau|nouvelle|"
    r"ancien|ancienne|former|old)"
)
_LOWER_WORD = r"(?!" + _NOT_A_NAME + r"(?![^\W\d_]|[-'’]))[^\W\d_]{2,}(?:[-'’][^\W\d_]+)*"
_LOWER_NAME_WITH_ROLE = re.compile(
    r"(?<![^\W\d_])(?<![-'’])" + _LOWER_WORD + r"[\x20\u00a0]+" + _LOWER_WORD
    + r"(?=[\x20\u00a0]*\([\x20\u00a0]*(?:" + _ROLES + r")(?![^\W\d_]))")


@dataclass(frozen=True)
class ClientFacts:
    client_id: str
    facts: dict  # JSON-ready: str, int, float, None, lists and dicts
    facts_hash: str

    @property
    def notes(self) -> list[dict]:
        return self.facts["recent_interactions"]["notes"]


class Redactor:
    """Takes e-mail addresses, phone numbers and known or titled person names out of a text."""

    def __init__(self, person_names: Iterable[str] = ()):
        patterns = sorted({p for name in person_names for p in _name_patterns(name)}, key=len, reverse=True)
        # the word boundaries stand once around the alternation, not in each name: a lookbehind at the head of
        # every alternative made the engine try each name at each position (6.4 s for 253 names and 2 000 clients,
        # 0.25 s so); backtracking into the group keeps the same matches
        names = "|".join(patterns)
        self._names = re.compile(rf"{_NOT_AFTER_LETTER}(?:{names}){_NOT_BEFORE_LETTER}") if patterns else None
        # A text's redaction depends only on the text and these names, and the same texts come back client after
        # client (mission titles, account labels): the 10 M bench firm's facts made 22 650 calls on 704 distinct
        # texts. Bounded, so a firm of any size keeps a flat memory.
        self._cached = functools.lru_cache(maxsize=1 << 14)(self._redact)

    def redact(self, text: str) -> str:
        return self._cached(text)

    def _redact(self, text: str) -> str:
        # the long digit runs first: a phone pattern would take a piece of an IBAN or a card number
        text = _IBAN.sub(_iban, text)
        text = _NIR.sub(NIR_MARK, text)
        text = _CARD.sub(_card, text)
        text = _CREDENTIAL.sub(_credential, text)
        text = _BARE_CREDENTIAL.sub(_credential, text)
        text = _EMAIL.sub(EMAIL_MARK, text)
        text = _ENGLISH_STREET.sub(ADDRESS_MARK, text)
        text = _FRENCH_STREET.sub(ADDRESS_MARK, text)
        text = _POST_BOX.sub(ADDRESS_MARK, text)
        text = _POSTCODE_TOWN.sub(ADDRESS_MARK, text)
        text = _FRENCH_PHONE.sub(PHONE_MARK, text)
        text = _INTERNATIONAL_PHONE.sub(_international_phone, text)
        if self._names:
            text = _replace_spans(text, [m.span() for m in self._names.finditer(_fold(text))], PERSON_MARK)
        text = _CIVILITY_NAME.sub(PERSON_MARK, text)
        text = _NAME_WITH_ROLE.sub(PERSON_MARK, text)
        return _LOWER_NAME_WITH_ROLE.sub(PERSON_MARK, text)


def load_client_facts(con, redactor: Redactor | None = None) -> list[ClientFacts]:
    """Every client's facts, by client_id; the redactor defaults to the firm's people found in the warehouse."""
    redactor = redactor or Redactor(firm_person_names(con))
    missions = load_open_missions(con)
    rows = fetch_dicts(con, f"SELECT * FROM {FACTS_TABLE} ORDER BY client_id")
    return [client_facts(row, missions.get(row["client_id"], []), redactor) for row in rows]


def client_facts(row: dict, missions: list[dict], redactor: Redactor) -> ClientFacts:
    """One client's facts from its client_summary_facts row and its open missions."""
    facts = {
        "client_name": row["client_name"] or row["client_id"],
        "relationship": {
            "purchases_basis": row["purchases_basis"],
            "first_purchase_date": row["first_purchase_date"],
            "last_purchase_date": row["last_purchase_date"],
            "total_purchases_excl_tax": row["total_purchases"],
            "purchase_documents_count": row["purchase_documents_count"],
        },
        "open_documents": {
            "invoices_to_pay_count": row["invoices_to_pay_count"],
            "invoices_to_pay_amount_excl_tax": row["invoices_to_pay_amount"],
            "invoices_late_count": row["invoices_late_count"],
            "invoices_late_amount_excl_tax": row["invoices_late_amount"],
            "quotes_sent_count": row["quotes_sent_count"],
            "quotes_read_count": row["quotes_read_count"],
            "open_opportunities_count": row["open_opportunities_count"],
            "open_opportunities_amount_excl_tax": row["open_opportunities_amount"],
            "open_opportunities": [
                {"name": o["name"], "amount_excl_tax": o["amount"], "pipeline": o["pipeline"], "step": o["step"],
                 "probability_pct": o["probability_pct"], "due_date": o["due_date"]}
                for o in _json(row["open_opportunities"])
            ],
        },
        "sales_overview": {
            "purchases_by_year_excl_tax": _json(row["purchases_by_year"]) or {},
            "purchase_frequency_per_year": row["purchase_frequency"],
            "average_basket_excl_tax": row["average_basket"],
            "top_products_by_quantity": _products(row["top_products_by_quantity"]),
            "top_products_by_revenue": _products(row["top_products_by_revenue"]),
            "paid_invoices_count": row["paid_invoices_count"],
            "avg_payment_days": row["avg_payment_days"],
            "late_payments_count": row["late_payments_count"],
        },
        "recent_interactions": {
            "window_months": INTERACTIONS_WINDOW_MONTHS,
            "notes_count": row["recent_interactions_count"],
            "notes": [{"date": n["date"], "kind": n["kind"], "text": n["text"]}
                      for n in _json(row["recent_interactions"])],
        },
        "suggested_missions": [
            {"mission_title": m["mission_title"], "kind": m["kind"], "trigger_text": m["trigger_text"],
             "price_min_excl_tax": m["price_min"], "price_max_excl_tax": m["price_max"]}
            for m in missions
        ],
    }
    facts = {"client_name": _plain(facts.pop("client_name")), **_redacted(_plain(facts), redactor)}
    return ClientFacts(row["client_id"], facts, facts_hash(facts))


def facts_hash(facts: dict) -> str:
    """sha256 of the facts' canonical JSON (sorted keys, no spaces): equal facts, equal hash, on any run."""
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_open_missions(con) -> dict[str, list[dict]]:
    """The open Vigie missions of each client; none when the opportunities asset has not written its table."""
    schema, table = MISSIONS_TABLE.split(".")
    if not relation_exists(con, schema, table):
        return {}
    rows = fetch_dicts(
        con,
        f"SELECT DISTINCT client_id, rule_id, kind, mission_title, trigger_text, price_min, price_max"
        f" FROM {MISSIONS_TABLE} WHERE status = 'open' AND client_id IS NOT NULL"
        f" ORDER BY client_id, rule_id, mission_title",
    )
    missions: dict[str, list[dict]] = {}
    for row in rows:
        missions.setdefault(row["client_id"], []).append(row)
    return missions


def firm_person_names(con) -> list[str]:
    """Names of the firm's people: practice collaborators and time-tracking users, where those sources exist."""
    sources = (("staging", "stg_practice__collaborators", "collaborator_name"),
               ("staging", "stg_timetracking__time_entries", "user_name"))
    names: set[str] = set()
    for schema, table, column in sources:
        if relation_exists(con, schema, table):
            names.update(row[0] for row in con.execute(
                f"SELECT DISTINCT {column} FROM {schema}.{table} WHERE {column} IS NOT NULL").fetchall())
    return sorted(names)


# ---- values ----


def _json(value):
    if value is None:
        return None
    return json.loads(value, parse_float=Decimal) if isinstance(value, str) else value


def _products(value) -> list[dict]:
    return [{"product": p["product_name"] or p["product_ref"], "quantity": p["quantity"],
             "revenue_excl_tax": p["revenue"]} for p in _json(value) or []]


def _plain(value):
    """JSON-ready: decimals as numbers (whole ones as int), dates as ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _redacted(value, redactor: Redactor):
    if isinstance(value, dict):
        return {k: _redacted(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, redactor) for v in value]
    if isinstance(value, str):
        return redactor.redact(value)
    return value


# ---- redaction ----


def _iban(match: re.Match) -> str:
    # an IBAN has digits after its check digits; a word such as 'FR76ABCDEFGHIJK' alone is not one; in groups
    # joined by dashes it must start with an IBAN country ('FA26-0001-0002-0003' is an invoice number)
    text = match.group(0)
    if "-" in text and text[:2].upper() not in _IBAN_COUNTRIES:
        return text
    body = re.sub(r"[\s\-]", "", text)[4:]
    return IBAN_MARK if sum(c.isdigit() for c in body) >= 6 else text


def _credential(match: re.Match) -> str:
    return match.group("label") + match.string[match.end("label"):match.start("secret")] + CREDENTIAL_MARK


def _card(match: re.Match) -> str:
    """A card number: 13 to 19 digits that pass the Luhn check (a SIRET, which passes it too, is kept)."""
    if _SIRET_BEFORE.search(match.string, 0, match.start()):
        return match.group(0)
    digits = [int(c) for c in match.group(0) if c.isdigit()]
    return CARD_MARK if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _luhn(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _international_phone(match: re.Match) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return PHONE_MARK if 9 <= digits <= 15 else match.group(0)


@functools.cache
def _fold_char(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 else char


def _fold(text: str) -> str:
    """Lower case without accents, one character for one character, so positions map back to `text`."""
    return "".join(_fold_char(c) for c in text)


_NOT_AFTER_LETTER, _NOT_BEFORE_LETTER = r"(?<![^\W\d_])", r"(?![^\W\d_])"


def _name_patterns(name: str) -> list[str]:
    """A person's name as a folded pattern, first-last and last-first, with any spacing or hyphen between; the
    word boundaries around it are the redactor's."""
    words = [w for w in re.split(r"[\s\-'’]+", _fold(name)) if w]
    if not words:
        return []
    orders = [words] if len(words) == 1 else [words, words[::-1]]
    return [r"[\s\-'’]+".join(map(re.escape, order)) for order in orders]


def _replace_spans(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + mark + text[end:]
    return text
