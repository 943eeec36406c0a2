"""Words a reply must not offer, from the stored preferences: a vegetarian is not offered meat
or fish, someone who hates mushrooms is not offered mushrooms. The generator bans them while
decoding (a small model ignores instructions; it cannot ignore a banned token)."""

from __future__ import annotations

_MEAT = """meat beef pork ham bacon sausage chicken turkey duck lamb veal steak burger salami
pepperoni prosciutto chorizo mince meatball kebab brisket venison rabbit goose liver
gelatin"""
MEAT = _MEAT.split()
_FISH = """fish salmon tuna cod trout shrimp prawn crab lobster anchovy sardine mussel oyster clam
seafood squid octopus shellfish scallop caviar ceviche sushi sashimi bouillabaisse"""
FISH = _FISH.split()
ANIMAL_PRODUCTS = "cheese milk butter cream yogurt egg honey".split()  # noqa: SIM905
DIETS = {
    "vegetarian": MEAT + FISH,
    "vegan": MEAT + FISH + ANIMAL_PRODUCTS,
    "pescatarian": MEAT,
}
# Preference keys whose value names something to leave out (agent/extraction's keys).
AVOIDING_KEYS = frozenset({"dislikes", "allergy", "doesn't eat"})


def plural(word: str) -> str:
    """'fish' -> 'fishes', 'anchovy' -> 'anchovies', 'peanuts' -> 'peanuts' (already plural)."""
    if word.endswith("s") and not word.endswith("ss"):
        return word
    if word.endswith(("ss", "sh", "ch", "x")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def avoided_words(preferences: list[tuple[str, str]]) -> list[str]:
    """Every word to keep out of a reply for these (key, value) preferences, with plurals."""
    found: list[str] = []
    for key, value in preferences:
        value = value.strip().lower()
        if key == "diet":
            found += DIETS.get(value, [])
        elif key in AVOIDING_KEYS and value and len(value.split()) <= 3:
            found.append(value)
    words = dict.fromkeys(w for word in found for w in (word, plural(word)))
    return list(words)
